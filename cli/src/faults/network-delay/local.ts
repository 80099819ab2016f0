// network-delay on the local platform: the supervisor routes the target's service port through a
// delaying relay of its own (drivers/local/delay-relay.ts), so every caller sees the latency; the
// services hold no fault code.

import { delayLanded, probeLatency } from '../../backends/probe-latency.js';
import type { LocalDriver } from '../../drivers/local/local-driver.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { delayOf, type NetworkDelaySpec } from './spec.js';

export const injection = (driver: LocalDriver, spec: NetworkDelaySpec): Injection =>
  new LocalNetworkDelay(driver, driver.service(spec), spec);

class LocalNetworkDelay implements Injection {
  private injected = false;
  private removed = false;
  private baselineMs = 0;
  constructor(
    private readonly driver: LocalDriver,
    private readonly target: string,
    private readonly spec: NetworkDelaySpec,
  ) {}

  async plan() {
    const { latencyMs, jitterMs } = delayOf(this.spec);
    // Locally the delay is on the target's port: every caller's traffic, whatever `callers` names.
    return `the supervisor relays ${this.target}'s service port ${latencyMs} ms ± ${jitterMs} ms late, for every caller`;
  }

  async preflight() {
    return [];
  }

  async inject(): Promise<Injected> {
    const { latencyMs, jitterMs, durationMs } = delayOf(this.spec);
    this.baselineMs = await probeLatency(await this.driver.url({ service: this.target }));
    // The supervisor expires the fault at its own deadline (a margin past ours) if chaosctl dies.
    await this.driver.call('POST', `/latency/${this.target}`, {
      latencyMs,
      jitterMs,
      durationMs: durationMs + 5000,
    });
    this.injected = true;
    return { summary: `${latencyMs} ms ± ${jitterMs} ms in front of ${this.target}` };
  }

  async verify(): Promise<Verification> {
    const { latencyMs } = delayOf(this.spec);
    const during = await probeLatency(await this.driver.url({ service: this.target }));
    const { landed, added } = delayLanded(this.baselineMs, during, latencyMs);
    return {
      landed,
      evidence: `${this.target}'s /healthz answered ${added} ms slower on its service port (${latencyMs} ms injected)`,
    };
  }

  async remove() {
    if (!this.injected || this.removed) return;
    this.removed = true;
    await this.driver.call('DELETE', `/latency/${this.target}`);
  }
}

// network-delay through Chaos Mesh: a NetworkChaos delaying the target's packets to its callers.
// NetworkChaos `selector` picks the pods whose traffic is disturbed, `direction: to` with `target`
// delays their packets to the target pods (here: the target's answers to its callers), so probes,
// DNS and the database are untouched (Chaos Mesh api/v1alpha1 networkchaos_types.go).
import { MeshInjection } from '../../backends/chaos-mesh/index.js';
import { chaosObject, type PodSelection, podSelectorSpec } from '../../backends/chaos-mesh/objects.js';
import { delayLanded, probeLatency } from '../../backends/probe-latency.js';
import { type Target, targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { UsageError } from '../../errors.js';
import type { Injected, Injection, Observed, Verification } from '../fault.js';
import { callersOf, delayOf, type NetworkDelaySpec } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: NetworkDelaySpec): Injection =>
  new MeshNetworkDelay(driver, targetOf(spec), spec);

export function networkChaos(opts: {
  name: string;
  target: PodSelection;
  callers: PodSelection;
  latencyMs: number;
  jitterMs: number;
  durationMs: number;
}) {
  return chaosObject('NetworkChaos', opts.name, opts.target.namespace, opts.durationMs, {
    action: 'delay',
    mode: 'all',
    selector: podSelectorSpec(opts.target),
    direction: 'to',
    target: { mode: 'all', selector: podSelectorSpec(opts.callers) },
    delay: { latency: `${opts.latencyMs}ms`, jitter: `${opts.jitterMs}ms`, correlation: '0' },
  });
}

class MeshNetworkDelay extends MeshInjection {
  private baselineMs = 0;
  constructor(
    driver: KubernetesDriver,
    target: Target,
    private readonly spec: NetworkDelaySpec,
  ) {
    super(driver, target);
  }

  protected async object() {
    const { latencyMs, jitterMs, durationMs } = delayOf(this.spec);
    const namespace = this.driver.client.namespace;
    // chaosctl's own pod is a caller too when it runs in the cluster: its view is the evidence.
    const callers = [...callersOf(this.spec), ...(this.driver.inCluster ? ['chaosctl'] : [])];
    return networkChaos({
      name: this.name,
      target: { namespace, selector: this.driver.selector(this.target) },
      callers: { namespace, selector: `app.kubernetes.io/name in (${callers.join(',')})` },
      latencyMs,
      jitterMs,
      // A margin past ours: chaosctl deletes it at the end; the duration is only the safety net.
      durationMs: durationMs + 30_000,
    });
  }

  async plan() {
    return `a NetworkChaos delaying ${this.driver.selector(this.target)}'s packets to ${callersOf(this.spec).join(', ')} by ${this.spec.latency}`;
  }

  override async preflight(): Promise<string[]> {
    if (callersOf(this.spec).length === 0)
      throw new UsageError(
        `a NetworkChaos here delays the target's packets to its callers: name them (callers: in the suite, or --callers)`,
      );
    return super.preflight();
  }

  override async inject(): Promise<Injected> {
    if (this.driver.inCluster) this.baselineMs = await probeLatency(await this.driver.url(this.target));
    return super.inject();
  }

  /**
   * In the cluster chaosctl is a caller and sees the target slower itself. From outside, a NetworkChaos
   * delays only in-cluster callers: the evidence is the suite's own requests, slower through them.
   */
  async verify(observed?: Observed): Promise<Verification> {
    const { latencyMs } = delayOf(this.spec);
    if (this.driver.inCluster) {
      const { landed, added } = delayLanded(
        this.baselineMs,
        await probeLatency(await this.driver.url(this.target)),
        latencyMs,
      );
      return {
        landed,
        evidence: `from this pod ${this.target.service} answered ${added} ms slower (${latencyMs} ms injected)`,
      };
    }
    if (!observed?.trafficLatency)
      return {
        landed: false,
        evidence: `from outside the cluster a NetworkChaos is felt only through its callers (${callersOf(this.spec).join(', ')}), and the suite declares no traffic through them: declare traffic, or run chaosctl as the chart's Job`,
      };
    const felt = await observed.trafficLatency();
    const { landed, added } = delayLanded(felt.beforeMs, felt.duringMs, latencyMs);
    return {
      landed,
      evidence: `the suite's requests answered ${added} ms slower (median of ${felt.requests}, through ${callersOf(this.spec).join(', ')}; ${latencyMs} ms injected)`,
    };
  }
}

// When order-service's circuit breakers opened and closed again, read from its own metrics
// (circuit_breaker_state per downstream: 0 closed, 1 half-open, 2 open) where traffic reaches it.
// Each scrape answers for one replica (its X-Served-By header), so the state is kept per replica:
// opened when any replica reports an open breaker, closed when every replica seen open has since
// reported all its breakers closed. Polls every 250 ms while traffic flows; stop() ends it.

import { request } from 'undici';

const STATE = /^circuit_breaker_state\{[^}]*downstream="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)$/gm;

/** The breaker states in a Prometheus text exposition, by downstream. */
export function breakerStates(metrics: string): Map<string, number> {
  return new Map([...metrics.matchAll(STATE)].map((m) => [m[1] as string, Number(m[2])]));
}

export class BreakerWatch {
  private readonly openReplicas = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  openedAt: number | undefined;
  closedAt: number | undefined;

  constructor(
    private readonly url: string,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.running = true;
    const tick = async () => {
      await this.scrape();
      if (this.running) this.timer = setTimeout(tick, this.intervalMs);
    };
    void tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Records one answer: which replica, and the state of its breakers, at `at`. */
  observe(replica: string, states: Map<string, number>, at = Date.now()): void {
    const open = [...states.values()].some((state) => state === 2);
    const closed = [...states.values()].every((state) => state === 0);
    if (open) {
      this.openReplicas.add(replica);
      this.openedAt ??= at;
      this.closedAt = undefined;
    } else if (closed && this.openReplicas.delete(replica) && this.openReplicas.size === 0) {
      this.closedAt = at;
    }
  }

  private async scrape(): Promise<void> {
    try {
      // undici's request: fetch refuses some ports (cli/test/bad-ports.test.ts).
      const res = await request(`${this.url}/metrics`, { signal: AbortSignal.timeout(1000) });
      const text = await res.body.text();
      const servedBy = res.headers['x-served-by'];
      if (res.statusCode === 200)
        this.observe(typeof servedBy === 'string' ? servedBy : 'unknown', breakerStates(text));
    } catch {
      // A replica that does not answer now tells nothing about its breakers.
    }
  }
}

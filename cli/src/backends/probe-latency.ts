// The latency a caller sees from a service: the median of a few GET /healthz, bounded in time.
import { request } from 'undici';
import { median } from '../experiments/statistics.js';

export async function probeLatency(url: string, tries = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < tries; i++) {
    const started = performance.now();
    // undici's request: fetch refuses some ports (cli/test/bad-ports.test.ts). A new connection each time, as
    // a new caller's: a delay applies to new connections, and one kept idle across the injection
    // may be closed by the platform just as the next probe takes it ("other side closed").
    await request(`${url}/healthz`, { signal: AbortSignal.timeout(10_000), reset: true }).then((res) =>
      res.body.dump(),
    );
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Verified when callers see the target at least half the injected delay slower. */
export function delayLanded(baselineMs: number, duringMs: number, latencyMs: number) {
  const added = duringMs - baselineMs;
  return { landed: added >= latencyMs / 2, added: Math.round(added) };
}

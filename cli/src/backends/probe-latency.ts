// The latency a caller sees from a service: the median of a few GET /healthz, bounded in time.
import { request } from 'undici';
import { median } from '../experiments/statistics.js';

export async function probeLatency(url: string, tries = 3): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < tries; i++) {
    const started = performance.now();
    // undici's request: fetch refuses some ports (see integrity.ts).
    await request(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) }).then((res) => res.body.dump());
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Verified when callers see the target at least half the injected delay slower. */
export function delayLanded(baselineMs: number, duringMs: number, latencyMs: number) {
  const added = duringMs - baselineMs;
  return { landed: added >= latencyMs / 2, added: Math.round(added) };
}

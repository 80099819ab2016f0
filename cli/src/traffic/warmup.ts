// The first requests a service sees pay for its lazily compiled validators and the JIT (seen: p95
// 512 ms in the first second, 10-50 ms after; 2.6 s on a cluster right after install). They are
// sent as a warm-up whose samples stay out of the baseline: it ends once two consecutive slices of
// answers agree on their p95, never before WARMUP_MIN_MS, never after WARMUP_MAX_MS.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sample } from './load.js';
import { windowStats } from './stats.js';

export const WARMUP_MIN_MS = 1000;
export const WARMUP_MAX_MS = 5000;
const SLICE_MS = 500;

/**
 * Whether the answers completed in the last slice before `now` agree with those of the slice before
 * it: the higher p95 within 1.5 times the lower (plus 10 ms, below which timer noise rules), and no
 * failures in the last one. An empty slice is not steady.
 */
export function steady(samples: readonly Sample[], now: number, sliceMs = SLICE_MS): boolean {
  const slice = (from: number) =>
    samples.filter((s) => s.completedAt >= from && s.completedAt < from + sliceMs);
  const previous = windowStats(slice(now - 2 * sliceMs));
  const last = windowStats(slice(now - sliceMs));
  if (previous.requests === 0 || last.requests === 0 || last.failed > 0) return false;
  return Math.max(last.p95Ms, previous.p95Ms) <= Math.min(last.p95Ms, previous.p95Ms) * 1.5 + 10;
}

/** Waits while traffic warms the service up; resolves with when the baseline starts (epoch ms). */
export async function warmUp(samples: readonly Sample[], startedAt: number): Promise<number> {
  await sleep(Math.max(0, startedAt + WARMUP_MIN_MS - Date.now()));
  while (Date.now() < startedAt + WARMUP_MAX_MS && !steady(samples, Date.now())) await sleep(SLICE_MS / 5);
  return Date.now();
}

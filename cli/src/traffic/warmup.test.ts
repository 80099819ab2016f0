import { describe, expect, it } from '@jest/globals';
import type { Sample } from './load.js';
import { steady } from './warmup.js';

const T0 = 1_700_000_000_000;
const answered = (completedAt: number, latencyMs: number, status = 201): Sample => ({
  dueAt: completedAt - latencyMs,
  completedAt,
  latencyMs,
  lagMs: 0,
  status,
  attempts: 1,
  request: 0,
  ok: status === 201,
});
/** One answer every 10 ms over [from, to) ms after T0, each taking `latencyMs`. */
const every10ms = (from: number, to: number, latencyMs: number, status = 201) =>
  Array.from({ length: (to - from) / 10 }, (_, i) => answered(T0 + from + i * 10, latencyMs, status));

describe('the warm-up before the baseline', () => {
  it('is not over while answers are still getting faster (a cold service)', () => {
    const samples = [...every10ms(0, 500, 500), ...every10ms(500, 1000, 40)];
    expect(steady(samples, T0 + 1000)).toBe(false);
  });

  it('is over once two slices agree', () => {
    const samples = [...every10ms(0, 500, 500), ...every10ms(500, 1000, 40), ...every10ms(1000, 1500, 35)];
    expect(steady(samples, T0 + 1500)).toBe(true);
  });

  it('tolerates jitter of a few milliseconds on a fast service', () => {
    const samples = [...every10ms(0, 500, 4), ...every10ms(500, 1000, 12)];
    expect(steady(samples, T0 + 1000)).toBe(true);
  });

  it('is not over while requests fail or no answer came', () => {
    expect(steady([...every10ms(0, 500, 30), ...every10ms(500, 1000, 30, 503)], T0 + 1000)).toBe(false);
    expect(steady(every10ms(0, 500, 30), T0 + 1000)).toBe(false);
  });
});

// The PRNG behind victim choice and bootstrap resampling.
import { describe, expect, it } from '@jest/globals';
import { prng } from './prng.js';

describe('prng', () => {
  it('repeats its sequence for a seed and stays in [0, 1)', () => {
    const a = prng(42);
    const b = prng(42);
    const first = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 1000 }, prng(43))).not.toEqual(first);
    // Uniform enough for resampling: each tenth of [0, 1) gets close to its share.
    const tenths = new Array(10).fill(0);
    for (const x of Array.from({ length: 10_000 }, prng(7))) tenths[Math.floor(x * 10)]++;
    for (const count of tenths) expect(Math.abs(count - 1000)).toBeLessThan(100);
  });
});

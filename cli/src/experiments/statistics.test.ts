// The bootstrap on data whose answer is known, and the baseline gate in its three outcomes.
import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../errors.js';
import {
  BOOTSTRAP,
  bootstrapDifference,
  bootstrapMedian,
  compareRuns,
  median,
  parseMinEffect,
} from './statistics.js';

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('bootstrapMedian', () => {
  it('gives the range of five runs as the 95% interval, whatever the seed', () => {
    // The median of a resample of 5 is the smallest value when 3 or more draws are it:
    // P = 1 - 0.8^5 - 5(0.2)(0.8^4) - 10(0.04)(0.8^3) = 5.8% > 2.5%, so both ends are the extremes.
    for (const seed of [1, 2, 3, 99]) {
      expect(bootstrapMedian([30, 10, 50, 20, 40], { ...BOOTSTRAP, seed })).toEqual({
        runs: 5,
        median: 30,
        ci: [10, 50],
      });
    }
  });

  it('matches the exact bootstrap quantiles of 1..9', () => {
    // Exact: P(median <= 1) = 0.0014, P(<= 2) = 0.0304, P(<= 7) = 0.9696, P(<= 8) = 0.9986, so the
    // exact 2.5% and 97.5% quantiles of the resampled median are 2 and 8.
    expect(bootstrapMedian([1, 2, 3, 4, 5, 6, 7, 8, 9], { ...BOOTSTRAP, resamples: 20_000 })).toEqual({
      runs: 9,
      median: 5,
      ci: [2, 8],
    });
  });

  it('is reproducible, narrow for identical runs, and says nothing from one run', () => {
    const runs = [1200, 1350, 1100, 1900, 1250, 1300];
    expect(bootstrapMedian(runs)).toEqual(bootstrapMedian(runs));
    expect(bootstrapMedian([700, 700, 700])).toEqual({ runs: 3, median: 700, ci: [700, 700] });
    expect(bootstrapMedian([700])).toEqual({ runs: 1, median: 700, ci: null });
    expect(bootstrapMedian([])).toBeNull();
  });
});

describe('bootstrapDifference', () => {
  it('centres on the shift between two samples and excludes 0 when the shift dwarfs the spread', () => {
    const baseline = [1000, 1010, 990, 1005, 995];
    const { difference, ci } = bootstrapDifference(
      baseline.map((v) => v + 500),
      baseline,
    );
    expect(difference).toBe(500);
    // Each side's median resamples within [990, 1010] (+500): the difference within 500 +- 20.
    expect(ci[0]).toBeGreaterThanOrEqual(480);
    expect(ci[1]).toBeLessThanOrEqual(520);
  });
});

describe('compareRuns: the baseline gate', () => {
  const baseline = [1000, 1050, 980, 1020, 990];

  it('finds a regression when the whole interval lies above the minimum effect', () => {
    const result = compareRuns([2000, 2100, 1950, 2050, 2020], baseline, { ms: 250 });
    expect(result).toMatchObject({
      verdict: 'regression',
      difference: 1020,
      minEffect: 250,
      runs: 5,
      baselineRuns: 5,
    });
    expect(result.ci?.[0]).toBeGreaterThan(250);
  });

  it('finds no regression when the runs match the baseline', () => {
    expect(compareRuns([1010, 990, 1030, 1000, 985], baseline, { ms: 250 }).verdict).toBe('no-regression');
  });

  it('lets a significant but small slowdown pass: below the minimum effect', () => {
    const result = compareRuns(
      baseline.map((v) => v + 100),
      baseline,
      { ms: 250 },
    );
    expect(result.verdict).toBe('no-regression');
    expect(result.ci?.[0]).toBeGreaterThan(0);
  });

  it('never fails on an improvement', () => {
    expect(compareRuns([400, 420, 410], baseline, { ms: 0 }).verdict).toBe('no-regression');
  });

  it('is inconclusive when the interval straddles the minimum effect (noisy runs)', () => {
    const result = compareRuns([900, 3000, 1000, 2800, 1100], baseline, { ms: 250 });
    expect(result.verdict).toBe('inconclusive');
    expect(result.ci?.[0]).toBeLessThanOrEqual(250);
    expect(result.ci?.[1]).toBeGreaterThan(250);
    expect(result.reason).toMatch(/straddles the minimum effect \(250\): too noisy to tell/);
  });

  it('is inconclusive with too few runs, however large the difference', () => {
    const result = compareRuns([9000, 9100], baseline, { ms: 250 });
    expect(result).toMatchObject({ verdict: 'inconclusive', difference: 8050, ci: null });
    expect(result.reason).toMatch(/at least 3 on each side/);
    expect(compareRuns([2000, 2100, 1950], [1000], { ms: 250 }).verdict).toBe('inconclusive');
  });

  it('takes a relative minimum effect of the baseline median', () => {
    // 20% of 1000 is 200: +300 is a regression, +100 is not.
    expect(
      compareRuns(
        baseline.map((v) => v + 300),
        baseline,
        { ratio: 0.2 },
      ),
    ).toMatchObject({
      verdict: 'regression',
      minEffect: 200,
    });
    expect(
      compareRuns(
        baseline.map((v) => v + 100),
        baseline,
        { ratio: 0.2 },
      ).verdict,
    ).toBe('no-regression');
  });
});

describe('parseMinEffect', () => {
  it('reads durations and percentages, and refuses anything else with a usage error', () => {
    expect(parseMinEffect('250ms')).toEqual({ ms: 250 });
    expect(parseMinEffect('1.5s')).toEqual({ ms: 1500 });
    expect(parseMinEffect('20%')).toEqual({ ratio: 0.2 });
    expect(() => parseMinEffect('fast')).toThrow(UsageError);
    expect(() => parseMinEffect('-5%')).toThrow(
      /--min-effect must be a duration like 250ms or a share of the baseline like 20% \(got '-5%'\)/,
    );
  });
});

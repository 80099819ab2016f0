// Figures over repeated runs that a noisy machine cannot flip: medians with percentile-bootstrap
// confidence intervals, and the baseline gate built on them. Pure and seeded, so a report computed
// twice from the same runs says the same thing.
import { UsageError } from '../errors.js';
import { prng } from '../prng.js';
import { parseDuration } from './duration.js';

export interface BootstrapOptions {
  /** Resamples drawn (2,000 by default: the interval's ends move by a few ms between seeds). */
  resamples: number;
  /** Two-sided coverage of the interval, 0.95 by default. */
  confidence: number;
  /** Seed of the PRNG: the same runs and seed give the same interval. */
  seed: number;
}

export const BOOTSTRAP: BootstrapOptions = { resamples: 2000, confidence: 0.95, seed: 1 };

/** Below this many runs on either side a comparison has no idea of its own noise: inconclusive. */
const MIN_RUNS = 3;

/** The middle value (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function resampledMedian(values: readonly number[], random: () => number): number {
  return median(
    Array.from({ length: values.length }, () => values[Math.floor(random() * values.length)] as number),
  );
}

/** The percentile interval of a bootstrap distribution: its (1-c)/2 and (1+c)/2 quantiles. */
function interval(distribution: number[], confidence: number): [number, number] {
  distribution.sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  const at = (q: number) =>
    distribution[
      Math.min(distribution.length - 1, Math.max(0, Math.floor(q * distribution.length)))
    ] as number;
  return [at(tail), at(1 - tail - 1 / distribution.length)];
}

export interface Estimate {
  /** Runs that produced the figure (a phase a run never reached is not a figure of it). */
  runs: number;
  median: number;
  /** Percentile-bootstrap interval of the median; null below two runs, where it would say nothing. */
  ci: [number, number] | null;
}

/** The median of `values` and its percentile-bootstrap confidence interval. */
export function bootstrapMedian(
  values: readonly number[],
  opts: BootstrapOptions = BOOTSTRAP,
): Estimate | null {
  if (values.length === 0) return null;
  if (values.length === 1) return { runs: 1, median: values[0] as number, ci: null };
  const random = prng(opts.seed);
  const distribution = Array.from({ length: opts.resamples }, () => resampledMedian(values, random));
  return { runs: values.length, median: median(values), ci: interval(distribution, opts.confidence) };
}

/**
 * The difference of medians, `current - baseline`, and its percentile-bootstrap interval: each side
 * resampled on its own (the runs are independent), the difference of the two medians each time.
 */
export function bootstrapDifference(
  current: readonly number[],
  baseline: readonly number[],
  opts: BootstrapOptions = BOOTSTRAP,
): { difference: number; ci: [number, number] } {
  const random = prng(opts.seed);
  const distribution = Array.from(
    { length: opts.resamples },
    () => resampledMedian(current, random) - resampledMedian(baseline, random),
  );
  return { difference: median(current) - median(baseline), ci: interval(distribution, opts.confidence) };
}

/** `--min-effect`: a regression smaller than this is not worth failing a build for. */
export type MinEffect = { ms: number } | { ratio: number };

/** "250ms", "1.5s" (absolute) or "20%" (of the baseline's median). */
export function parseMinEffect(text: string): MinEffect {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (percent) return { ratio: Number(percent[1]) / 100 };
  try {
    return { ms: parseDuration(text) };
  } catch {
    throw new UsageError(
      `--min-effect must be a duration like 250ms or a share of the baseline like 20% (got '${text}')`,
    );
  }
}

export const showMinEffect = (effect: MinEffect) =>
  'ms' in effect ? `${effect.ms} ms` : `${Math.round(effect.ratio * 1000) / 10}%`;

export interface Comparison {
  /**
   * regression: the whole interval of the difference lies above the minimum effect (so it excludes
   * 0 too); no-regression: the whole interval lies at or below it; inconclusive: too few runs, or
   * the interval straddles the minimum effect.
   */
  verdict: 'regression' | 'no-regression' | 'inconclusive';
  runs: number;
  baselineRuns: number;
  median: number | null;
  baselineMedian: number | null;
  /** current - baseline, in the figure's unit. */
  difference: number | null;
  ci: [number, number] | null;
  /** The minimum effect in the figure's unit (a ratio is taken of the baseline's median). */
  minEffect: number | null;
  reason: string;
}

/** The significance gate: is `current` (higher is worse) worse than `baseline` by more than the minimum effect? */
export function compareRuns(
  current: readonly number[],
  baseline: readonly number[],
  minEffect: MinEffect,
  opts: BootstrapOptions = BOOTSTRAP,
): Comparison {
  const base = {
    runs: current.length,
    baselineRuns: baseline.length,
    median: current.length ? median(current) : null,
    baselineMedian: baseline.length ? median(baseline) : null,
  };
  if (current.length < MIN_RUNS || baseline.length < MIN_RUNS)
    return {
      ...base,
      verdict: 'inconclusive',
      difference:
        base.median === null || base.baselineMedian === null ? null : base.median - base.baselineMedian,
      ci: null,
      minEffect: null,
      reason: `${current.length} runs against ${baseline.length} in the baseline: at least ${MIN_RUNS} on each side are needed to tell a regression from noise`,
    };
  const { difference, ci } = bootstrapDifference(current, baseline, opts);
  const threshold = 'ms' in minEffect ? minEffect.ms : minEffect.ratio * (base.baselineMedian as number);
  const [low, high] = ci;
  const verdict = low > threshold ? 'regression' : high <= threshold ? 'no-regression' : 'inconclusive';
  const interval = `the ${Math.round(opts.confidence * 100)}% interval of the difference`;
  const effect = `the minimum effect (${round(threshold)})`;
  const reason =
    verdict === 'regression'
      ? `${interval} lies above ${effect}`
      : verdict === 'no-regression'
        ? `${interval} lies at or below ${effect}`
        : `${interval} straddles ${effect}: too noisy to tell`;
  return { ...base, verdict, difference, ci, minEffect: threshold, reason };
}

const round = (n: number) => Math.round(n * 10) / 10;

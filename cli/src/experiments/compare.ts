// `--baseline`: compares the runs of each experiment with the runs of the same experiment in an
// earlier report. A figure regresses only when the bootstrap interval of the difference of medians
// lies wholly above the minimum effect (statistics.ts); too few runs or an interval that straddles
// it is "inconclusive", never a pass or a fail by luck.
import type { ExperimentResult } from './result.js';
import { type Comparison, compareRuns, type MinEffect, showMinEffect } from './statistics.js';

/** Runs of an experiment with --repeat are named "<name> #<run>". */
export const experimentOf = (runName: string) => /^(.*) #\d+$/.exec(runName)?.[1] ?? runName;

/** What the gate compares: both are "higher is worse" and in ms, so one minimum effect fits both. */
const GATED = {
  recoveryMs: (e: ExperimentResult) => e.recovery.totalMs,
  p95DuringMs: (e: ExperimentResult) => e.traffic.during.p95Ms,
} as const;

export interface BaselineComparison {
  /** regression if any gated figure regressed, else inconclusive if any was, else no-regression. */
  verdict: Comparison['verdict'];
  minEffect: string;
  checks: Record<keyof typeof GATED, Comparison>;
}

/** The values of a figure over the runs that measured it (errored runs measured nothing). */
export const valuesOf = (runs: readonly ExperimentResult[], pick: (e: ExperimentResult) => number | null) =>
  runs.flatMap((e) => {
    const value = e.status === 'error' ? null : pick(e);
    return value === null || !Number.isFinite(value) ? [] : [value];
  });

/** The comparison for one experiment's runs, or undefined when the baseline does not hold it. */
export function compareWithBaseline(
  name: string,
  runs: readonly ExperimentResult[],
  baseline: { experiments: readonly ExperimentResult[] },
  minEffect: MinEffect,
): BaselineComparison | undefined {
  const before = baseline.experiments.filter((e) => experimentOf(e.name) === name);
  if (before.length === 0) return undefined;
  const checks = Object.fromEntries(
    Object.entries(GATED).map(([figure, pick]) => [
      figure,
      compareRuns(valuesOf(runs, pick), valuesOf(before, pick), minEffect),
    ]),
  ) as BaselineComparison['checks'];
  const verdicts = Object.values(checks).map((c) => c.verdict);
  const verdict = verdicts.includes('regression')
    ? 'regression'
    : verdicts.includes('inconclusive')
      ? 'inconclusive'
      : 'no-regression';
  return { verdict, minEffect: showMinEffect(minEffect), checks };
}

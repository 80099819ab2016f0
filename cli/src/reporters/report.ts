// The run report: one versioned document (docs/chaosctl-report.schema.json) that every reporter renders.
import { readFileSync } from 'node:fs';
import { EXIT, UsageError } from '../errors.js';
import {
  type BaselineComparison,
  compareWithBaseline,
  experimentOf,
  valuesOf,
} from '../experiments/compare.js';
import type { ExperimentResult } from '../experiments/result.js';
import { bootstrapMedian, type Estimate, type MinEffect } from '../experiments/statistics.js';

// 2: recovery in phases (capacity restored, user-facing...), the backend, the fault's summary,
// medians with bootstrap intervals over repeats, and the baseline gate with its "inconclusive".
// 3: suites for any service: the steady-state probes, abort conditions (status and verdict
// `aborted`), integrity as the declared read-back (no stock fields: stock is a probe now).
export const REPORT_SCHEMA_VERSION = 3;

/** The figures each experiment's runs are summarised by (ms, but the error rate: a ratio). */
export const FIGURES = {
  totalMs: (e: ExperimentResult) => e.recovery.totalMs,
  faultEndedMs: (e: ExperimentResult) => e.recovery.faultEndedMs,
  firstFailureMs: (e: ExperimentResult) => e.recovery.firstFailureMs,
  breakerOpenedMs: (e: ExperimentResult) => e.recovery.breakerOpenedMs,
  breakerClosedMs: (e: ExperimentResult) => e.recovery.breakerClosedMs,
  terminatedMs: (e: ExperimentResult) => e.recovery.terminatedMs,
  capacityRestoredMs: (e: ExperimentResult) => e.recovery.capacityRestoredMs,
  errorsEndedMs: (e: ExperimentResult) => e.recovery.errorsEndedMs,
  latencyNormalMs: (e: ExperimentResult) => e.recovery.latencyNormalMs,
  userFacingMs: (e: ExperimentResult) => e.recovery.userFacingMs,
  steadyStateMs: (e: ExperimentResult) => e.recovery.steadyStateMs,
  errorRateDuring: (e: ExperimentResult) => e.traffic.during.errorRate,
  p95DuringMs: (e: ExperimentResult) => e.traffic.during.p95Ms,
} as const;

export interface RepeatSummary {
  name: string;
  /** Runs of the experiment, errored ones included (they give no figure). */
  runs: number;
  /** Median and 95% percentile-bootstrap interval of each figure; null when no run measured it. */
  figures: Record<keyof typeof FIGURES, Estimate | null>;
  /** With --baseline: the significance gate against the baseline's runs of the same experiment. */
  baseline?: BaselineComparison;
}

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: 'chaosctl'; version: string };
  driver: string;
  startedAt: string;
  finishedAt: string;
  /** error > aborted > fail (a threshold, or a regression against the baseline) > inconclusive > pass. */
  verdict: 'pass' | 'fail' | 'error' | 'aborted' | 'inconclusive';
  experiments: ExperimentResult[];
  /** With --repeat or --baseline: each experiment's figures over its runs. */
  repeats?: RepeatSummary[];
}

/** The exit code a report's verdict stands for. */
export const exitCodeOf = (verdict: Report['verdict']) =>
  verdict === 'pass'
    ? EXIT.ok
    : verdict === 'inconclusive'
      ? EXIT.inconclusive
      : verdict === 'aborted'
        ? EXIT.aborted
        : EXIT.failed;

function summarise(
  name: string,
  runs: ExperimentResult[],
  baseline?: { report: Report; minEffect: MinEffect },
): RepeatSummary {
  const figures = Object.fromEntries(
    Object.entries(FIGURES).map(([figure, pick]) => [figure, bootstrapMedian(valuesOf(runs, pick))]),
  ) as RepeatSummary['figures'];
  const comparison = baseline && compareWithBaseline(name, runs, baseline.report, baseline.minEffect);
  return { name, runs: runs.length, figures, ...(comparison ? { baseline: comparison } : {}) };
}

export function buildReport(
  driver: string,
  startedAt: Date,
  experiments: ExperimentResult[],
  version: string,
  baseline?: { report: Report; minEffect: MinEffect },
): Report {
  const groups = new Map<string, ExperimentResult[]>();
  for (const e of experiments)
    groups.set(experimentOf(e.name), [...(groups.get(experimentOf(e.name)) ?? []), e]);
  const repeats =
    baseline || [...groups.values()].some((runs) => runs.length > 1)
      ? [...groups].map(([name, runs]) => summarise(name, runs, baseline))
      : undefined;
  const gates = (repeats ?? []).map((r) => r.baseline?.verdict);
  // A skipped experiment neither passes nor fails the run; a run in which nothing ran proves nothing.
  const ran = experiments.filter((e) => e.status !== 'skipped');
  const verdict =
    ran.length === 0 || ran.some((e) => e.status === 'error')
      ? 'error'
      : ran.some((e) => e.status === 'aborted')
        ? 'aborted'
        : ran.some((e) => e.status !== 'pass') || gates.includes('regression')
          ? 'fail'
          : gates.includes('inconclusive')
            ? 'inconclusive'
            : 'pass';
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'chaosctl', version },
    driver,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    verdict,
    experiments,
    ...(repeats ? { repeats } : {}),
  };
}

/** Reads a chaos-report.json written earlier (a baseline, or a report to render again). */
export function loadReport(path: string): Report {
  try {
    const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
    if (typeof report !== 'object' || report === null || !Array.isArray(report.experiments))
      throw new Error('not a chaosctl report');
    if (report.schemaVersion !== REPORT_SCHEMA_VERSION)
      throw new Error(
        `a report of schema ${report.schemaVersion}; this chaosctl reads schema ${REPORT_SCHEMA_VERSION}`,
      );
    report.experiments.forEach(checkExperiment);
    return report;
  } catch (error) {
    throw new UsageError(`cannot use ${path}: ${(error as Error).message}`);
  }
}

/** What the reporters read of each experiment: a clear error instead of a crash on a hand-edited file. */
function checkExperiment(e: unknown, index: number): void {
  const x = e as Partial<ExperimentResult> | null;
  const missing = [
    typeof x?.name === 'string' ? '' : 'name',
    typeof x?.status === 'string' ? '' : 'status',
    typeof x?.fault === 'object' && x.fault ? '' : 'fault',
    typeof x?.recovery === 'object' && x.recovery ? '' : 'recovery',
    typeof x?.traffic?.during === 'object' ? '' : 'traffic',
    Array.isArray(x?.thresholds) ? '' : 'thresholds',
    Array.isArray(x?.timeline) ? '' : 'timeline',
  ].filter(Boolean);
  if (missing.length)
    throw new Error(`experiments[${index}] is not an experiment result (no ${missing.join(', ')})`);
}

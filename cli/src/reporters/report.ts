// The run report: one versioned document (docs/chaosctl-report.schema.json) that every reporter renders.
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { ExperimentResult } from '../experiments/runner.js';
import { percentile } from '../traffic/stats.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: 'chaosctl'; version: string };
  driver: string;
  startedAt: string;
  finishedAt: string;
  verdict: 'pass' | 'fail' | 'error';
  experiments: ExperimentResult[];
  /** With --repeat: recovery time over the runs of each experiment. */
  repeats?: Array<{
    name: string;
    runs: number;
    recoveryMs: { p50: number; p95: number; max: number } | null;
  }>;
}

/** Experiments run more than once appear as "<name> #<run>"; summarise their recovery times. */
function repeatsOf(experiments: ExperimentResult[]): Report['repeats'] {
  const groups = new Map<string, ExperimentResult[]>();
  for (const e of experiments) {
    const match = /^(.*) #\d+$/.exec(e.name);
    if (match?.[1]) groups.set(match[1], [...(groups.get(match[1]) ?? []), e]);
  }
  if (groups.size === 0) return undefined;
  return [...groups].map(([name, runs]) => {
    const times = runs
      .flatMap((r) => (r.recovery.totalMs === null ? [] : [r.recovery.totalMs]))
      .sort((a, b) => a - b);
    return {
      name,
      runs: runs.length,
      recoveryMs: times.length
        ? { p50: percentile(times, 50), p95: percentile(times, 95), max: times.at(-1) ?? 0 }
        : null,
    };
  });
}

export function buildReport(
  driver: string,
  startedAt: Date,
  experiments: ExperimentResult[],
  version: string,
): Report {
  const verdict = experiments.some((e) => e.status === 'error')
    ? 'error'
    : experiments.every((e) => e.status === 'pass')
      ? 'pass'
      : 'fail';
  const report: Report = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'chaosctl', version },
    driver,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    verdict,
    experiments,
  };
  const repeats = repeatsOf(experiments);
  return repeats ? { ...report, repeats } : report;
}

/** Reads a chaos-report.json written earlier (a baseline, or a report to render again). */
export function loadReport(path: string): Report {
  try {
    const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
    if (report.schemaVersion !== REPORT_SCHEMA_VERSION || !Array.isArray(report.experiments)) {
      throw new Error('not a chaosctl report');
    }
    return report;
  } catch (error) {
    throw new UsageError(`cannot use ${path}: ${(error as Error).message}`);
  }
}

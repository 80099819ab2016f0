// The run report: one versioned document (docs/chaosctl-report.schema.json) that every reporter renders.
import type { ExperimentResult } from '../experiments/runner.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: 'chaosctl'; version: string };
  driver: string;
  startedAt: string;
  finishedAt: string;
  verdict: 'pass' | 'fail' | 'error';
  experiments: ExperimentResult[];
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
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'chaosctl', version },
    driver,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    verdict,
    experiments,
  };
}

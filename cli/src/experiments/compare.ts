// `--baseline`: compares a run with an earlier report and turns a resilience regression beyond
// the margin into a failed threshold, so CI notices recovery getting slower.
import type { Report } from '../reporters/report.js';
import type { ExperimentResult, ThresholdResult } from './runner.js';

// Below this, differences are scheduling noise, not regressions.
const SLACK_MS = 250;

/** Adds regression thresholds to each result that has a counterpart (same name) in the baseline. */
export function compareWithBaseline(result: ExperimentResult, baseline: Report, margin: number): void {
  const before = baseline.experiments.find((e) => e.name === result.name && e.status !== 'error');
  if (!before || result.status === 'error') return;
  const checks: ThresholdResult[] = [];
  if (before.recovery.totalMs !== null && result.recovery.totalMs !== null) {
    const limit = Math.round(before.recovery.totalMs * (1 + margin) + SLACK_MS);
    checks.push({
      name: 'recovery-regression',
      limit,
      measured: result.recovery.totalMs,
      unit: 'ms',
      passed: result.recovery.totalMs <= limit,
    });
  }
  const limit = Math.round(before.traffic.during.p95Ms * (1 + margin) + SLACK_MS);
  checks.push({
    name: 'p95-regression',
    limit,
    measured: result.traffic.during.p95Ms,
    unit: 'ms',
    passed: result.traffic.during.p95Ms <= limit,
  });
  result.thresholds.push(...checks);
  if (checks.some((check) => !check.passed)) result.status = 'fail';
}

import { describe, expect, it } from '@jest/globals';
import { renderJunit } from './junit.js';
import { buildReport } from './report.js';
import { renderSummary } from './summary.js';
import { podKill, T0 } from './test-support/pod-kill-run.js';

describe('a target that never recovered', () => {
  // What runner.ts records when user-facing recovery was never reached: measured -1.
  const run = podKill('cpu-stress-order-service', 600);
  run.status = 'fail';
  run.thresholds = [
    { name: 'user-facing-recovery', limit: 30_000, measured: -1, unit: 'ms', passed: false },
    ...run.thresholds,
  ];
  const report = buildReport('local', new Date(T0), [run], 'test');

  it('is said to have not recovered within the limit, in the summary and the JUnit report', () => {
    const summary = renderSummary(report);
    expect(summary).toContain('user-facing-recovery: did not recover within 30.0 s');
    expect(renderJunit(report)).toContain('user-facing-recovery: did not recover within 30000 ms');
    expect(summary).not.toMatch(/-1 ms/);
    expect(renderJunit(report)).not.toMatch(/-1 ms/);
  });
});

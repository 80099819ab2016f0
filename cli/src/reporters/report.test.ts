// The report over repeated runs: its figures, the verdict the baseline gate gives it, the exit code
// that verdict stands for, and the schema users validate it against.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { EXIT } from '../errors.js';
import { median } from '../experiments/statistics.js';
import { buildReport, exitCodeOf } from './report.js';
import { podKill, T0 } from './test-support/pod-kill-run.js';

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
const validate = ajv.compile(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../../../docs/schemas/chaosctl-report.schema.json'), 'utf8'),
  ),
);

/** Runs of "pod-kill order-service" whose killed replica kept failing requests for these ms; each passes its thresholds. */
const runs = (...outagesMs: number[]) =>
  outagesMs.map((ms, i) => podKill(`pod-kill order-service #${i + 1}`, ms, 1));
const baseline = buildReport('local', new Date(T0), runs(100, 120, 110), 'test');
const report = (current: ReturnType<typeof runs>, against = baseline) =>
  buildReport('local', new Date(T0), current, 'test', { report: against, minEffect: { ms: 250 } });

describe('buildReport over repeated runs', () => {
  it('gives every figure a median and interval over the runs, and validates against the schema', () => {
    const current = runs(100, 150, 130);
    const built = buildReport('local', new Date(T0), current, 'test');
    expect(validate(built)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
    const [summary] = built.repeats ?? [];
    expect(summary?.name).toBe('pod-kill order-service');
    expect(summary?.runs).toBe(3);
    const totals = current.map((r) => r.recovery.totalMs as number);
    expect(summary?.figures.totalMs).toEqual({
      runs: 3,
      median: median(totals),
      ci: [Math.min(...totals), Math.max(...totals)],
    });
    expect(summary?.figures.errorRateDuring?.median).toBe(
      median(current.map((r) => r.traffic.during.errorRate)),
    );
    expect(summary?.baseline).toBeUndefined();
  });

  it('has no repeats section for single runs without a baseline', () => {
    expect(
      buildReport('local', new Date(T0), [podKill('pod-kill order-service', 100)], 'test').repeats,
    ).toBeUndefined();
  });

  it('fails on a significant regression beyond the minimum effect (exit 1)', () => {
    // Outages of about 1 s instead of 0.1 s: recovery about 0.9 s slower in every run.
    const built = report(runs(1000, 1050, 980));
    expect(validate(built)).toBe(true);
    expect(built.repeats?.[0]?.baseline).toMatchObject({
      verdict: 'regression',
      minEffect: '250 ms',
      checks: { recoveryMs: { verdict: 'regression', runs: 3, baselineRuns: 3 } },
    });
    expect(built.experiments.map((e) => e.status)).toEqual(['pass', 'pass', 'pass']);
    expect(built.verdict).toBe('fail');
    expect(exitCodeOf(built.verdict)).toBe(EXIT.failed);
  });

  it('passes runs like the baseline (exit 0)', () => {
    const built = report(runs(110, 100, 120));
    expect(built.repeats?.[0]?.baseline?.verdict).toBe('no-regression');
    expect(built.verdict).toBe('pass');
    expect(exitCodeOf(built.verdict)).toBe(EXIT.ok);
  });

  it('is inconclusive against a single baseline run (exit 4), and says so in the schema', () => {
    const single = buildReport('local', new Date(T0), [podKill('pod-kill order-service', 100, 1)], 'test');
    const built = report(runs(1000, 1050, 980), single);
    expect(validate(built)).toBe(true);
    expect(built.repeats?.[0]?.baseline?.verdict).toBe('inconclusive');
    expect(built.verdict).toBe('inconclusive');
    expect(exitCodeOf(built.verdict)).toBe(EXIT.inconclusive);
  });

  it('lets a failed threshold outrank an inconclusive comparison', () => {
    const current = runs(1000, 1050, 980);
    const [first] = current;
    if (first) first.status = 'fail';
    expect(report(current, buildReport('local', new Date(T0), [podKill('x', 1)], 'test')).verdict).toBe(
      'fail',
    );
  });
});

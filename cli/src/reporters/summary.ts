// The table people read at the end of a run.
import chalk from 'chalk';
import { formatMs } from '../experiments/duration.js';
import { PHASES } from '../experiments/recovery.js';
import type { ExperimentResult, ThresholdResult } from '../experiments/result.js';
import type { Comparison, Estimate } from '../experiments/statistics.js';
import { describeRetry } from '../traffic/load.js';
import type { RepeatSummary, Report } from './report.js';

/** A ratio as a percentage with two decimals. */
export const percent = (ratio: number) => `${(ratio * 100).toFixed(2)}%`;

/**
 * How the traffic's client retried in a report's runs, said only when it did: the error rate is then
 * what still failed after the retries.
 */
export const retryPolicies = (report: Report) => [
  ...new Set(
    report.experiments.flatMap((e) => (e.traffic.retry?.retries ? [describeRetry(e.traffic.retry)] : [])),
  ),
];

/** A threshold's figure with its unit; a duration never reached is measured as -1 (runner.ts). */
export const showValue = (value: number | boolean, unit: ThresholdResult['unit']) =>
  typeof value === 'boolean'
    ? String(value)
    : unit === 'ratio'
      ? percent(value)
      : value < 0
        ? 'not reached'
        : formatMs(value);

/**
 * A broken threshold in words, its figures shown by `show`: "did not recover within 30.0 s" rather
 * than a figure of -1.
 */
export function describeBroken(t: ThresholdResult, show = showValue): string {
  if (t.unit === 'ms' && typeof t.measured === 'number' && t.measured < 0)
    return `${t.name}: did not recover within ${show(t.limit, t.unit)}`;
  return `${t.name}: measured ${show(t.measured, t.unit)}, limit ${show(t.limit, t.unit)}`;
}

/** The recovery phases that were reached, in order, as one line. */
export function describePhases(e: ExperimentResult): string {
  // A disruption has no removal: its faultEndedMs is the injection itself.
  const parts = PHASES.map(([phase, label]): [string, number | null] => [
    label,
    phase === 'faultEndedMs' && e.type === 'pod-kill' ? null : e.recovery[phase],
  ]);
  return parts
    .filter((p): p is [string, number] => p[1] !== null)
    .sort((a, b) => a[1] - b[1])
    .map(([name, ms]) => `${name} +${formatMs(ms)}`)
    .join(', ');
}

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - text.length));

/** The figures of `repeats`, labelled, in the order people read them. */
const REPEAT_FIGURES: ReadonlyArray<readonly [keyof RepeatSummary['figures'], string]> = [
  ['totalMs', 'recovery'],
  ...PHASES,
  ['errorRateDuring', 'errors during'],
  ['p95DuringMs', 'p95 during'],
];

/** The figures of a repeat summary worth showing: measured ones, without a disruption's fault end (0). */
export const shownFigures = (r: RepeatSummary) =>
  REPEAT_FIGURES.flatMap(([figure, label]) => {
    const estimate = r.figures[figure];
    return estimate && !(figure === 'faultEndedMs' && estimate.median === 0)
      ? [{ figure, label, estimate }]
      : [];
  });

const unitOf = (figure: keyof RepeatSummary['figures']) => (figure === 'errorRateDuring' ? 'ratio' : 'ms');

/** "1.2 s (95% CI 1.1 s to 1.4 s)": a median and its interval, when it has one. */
export function showEstimate(estimate: Estimate, figure: keyof RepeatSummary['figures']): string {
  const show = (v: number) => showValue(v, unitOf(figure));
  return `${show(estimate.median)}${estimate.ci ? ` (95% CI ${show(estimate.ci[0])} to ${show(estimate.ci[1])})` : ''}`;
}

const signed = (ms: number) => `${ms >= 0 ? '+' : '-'}${formatMs(Math.abs(ms))}`;

/** "+1.0 s (95% CI +0.8 s to +1.2 s)": a difference of medians against the baseline. */
export const showDifference = (c: Comparison) =>
  c.difference === null
    ? 'not measured'
    : `${signed(c.difference)}${c.ci ? ` (95% CI ${signed(c.ci[0])} to ${signed(c.ci[1])})` : ''}`;

function repeatLines(r: RepeatSummary): string[] {
  const figures = shownFigures(r).map(({ figure, label, estimate }) => {
    const show = (v: number) => showValue(v, unitOf(figure));
    return [
      label,
      show(estimate.median),
      estimate.ci ? `${show(estimate.ci[0])} to ${show(estimate.ci[1])}` : '-',
      estimate.runs < r.runs ? `${estimate.runs} runs` : '',
    ];
  });
  const widths = [0, 1, 2].map((i) => Math.max(...figures.map((f) => (f[i] ?? '').length)));
  const lines = [
    `  ${r.name}, ${r.runs} run${r.runs === 1 ? '' : 's'}:`,
    ...figures.map(
      (f) =>
        `    ${f
          .map((cell, i) => pad(cell, widths[i] ?? 0))
          .join('  ')
          .trimEnd()}`,
    ),
  ];
  if (r.baseline) {
    lines.push(
      `  against the baseline (min effect ${r.baseline.minEffect}): ${r.baseline.verdict.toUpperCase()}`,
    );
    for (const [figure, c] of Object.entries(r.baseline.checks)) {
      lines.push(
        `    ${figure === 'recoveryMs' ? 'recovery' : 'p95 during'} ${showDifference(c)}: ${c.verdict}, ${c.reason}`,
      );
    }
  }
  return lines;
}

export function renderSummary(report: Report): string {
  const rows = report.experiments.map((e) => [
    e.name,
    e.status.toUpperCase(),
    e.recovery.totalMs === null ? '-' : formatMs(e.recovery.totalMs),
    `${percent(e.traffic.during.errorRate)}${e.traffic.during.retried ? ` (${e.traffic.during.retried} retried)` : ''}`,
    formatMs(e.traffic.during.p95Ms),
    e.integrity ? `${e.integrity.readBack}/${e.integrity.acknowledged}` : '-',
  ]);
  const header = ['experiment', 'result', 'recovery', 'errors', 'p95 during', 'read back'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const colour = (status: string) =>
    status === 'PASS' ? chalk.green(status) : status === 'FAIL' ? chalk.red(status) : chalk.yellow(status);
  const line = (cells: string[], paint = false) =>
    cells
      .map((cell, i) =>
        paint && i === 1
          ? colour(cell) + ' '.repeat(Math.max(0, (widths[i] ?? 0) - cell.length))
          : pad(cell, widths[i] ?? 0),
      )
      .join('  ');
  const details = report.experiments.flatMap((e) => [
    ...(e.fault.injectedAt ? [`  ${e.name}: ${describePhases(e) || 'no phase reached'}`] : []),
    ...e.thresholds.filter((t) => !t.passed).map((t) => `  ${e.name}: ${describeBroken(t)}`),
    ...(e.error ? [`  ${e.name}: ${e.error}`] : []),
  ]);
  const repeats = report.repeats?.length
    ? ['over the runs: median, 95% bootstrap interval', ...report.repeats.flatMap(repeatLines)]
    : [];
  return [
    line(header),
    ...rows.map((r) => line(r, true)),
    ...retryPolicies(report).map(
      (policy) => `traffic: ${policy}; errors are what still failed after the retries`,
    ),
    ...details,
    ...repeats,
    `verdict: ${colour(report.verdict.toUpperCase())}`,
  ].join('\n');
}

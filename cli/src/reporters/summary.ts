// The table people read at the end of a run.
import chalk from 'chalk';
import { formatMs } from '../experiments/duration.js';
import type { Report } from './report.js';

const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - text.length));

export function renderSummary(report: Report): string {
  const rows = report.experiments.map((e) => [
    e.name,
    e.status.toUpperCase(),
    e.recovery.totalMs === null ? '-' : formatMs(e.recovery.totalMs),
    `${(e.traffic.during.errorRate * 100).toFixed(2)}%`,
    formatMs(e.traffic.during.p95Ms),
    e.integrity
      ? `${e.integrity.readBack}/${e.integrity.acknowledged}${e.integrity.stockConserved ? '' : ' stock!'}`
      : '-',
  ]);
  const header = ['experiment', 'result', 'recovery', 'errors', 'p95 during', 'orders read back'];
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
    ...e.thresholds
      .filter((t) => !t.passed)
      .map((t) => `  ${e.name}: ${t.name} measured ${t.measured}, limit ${t.limit}`),
    ...(e.error ? [`  ${e.name}: ${e.error}`] : []),
  ]);
  return [
    line(header),
    ...rows.map((r) => line(r, true)),
    ...details,
    `verdict: ${colour(report.verdict.toUpperCase())}`,
  ].join('\n');
}

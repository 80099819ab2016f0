import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import type { Report } from './report.js';

export interface WrittenReports {
  json: string;
  junit: string;
  html: string;
}

/** File names in --report-dir; the Jenkinsfile's junit step points at REPORT_FILES.junit. */
export const REPORT_FILES = {
  json: 'chaos-report.json',
  junit: 'chaos-junit.xml',
  html: 'chaos-report.html',
} as const;

/** Writes the JSON, JUnit and HTML reports; file names are stable so CI can point at them. */
export function writeReports(report: Report, dir: string): WrittenReports {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, REPORT_FILES.json);
  const junit = join(dir, REPORT_FILES.junit);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const html = join(dir, REPORT_FILES.html);
  writeFileSync(junit, renderJunit(report));
  writeFileSync(html, renderHtml(report));
  return { json, junit, html };
}

/**
 * Removes the reports an earlier run left in `dir`, so that a run interrupted before it writes its
 * own leaves none rather than the previous run's looking current.
 */
export function removeReports(dir: string): void {
  for (const file of Object.values(REPORT_FILES)) rmSync(join(dir, file), { force: true });
}

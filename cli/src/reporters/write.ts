import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import type { Report } from './report.js';

export interface WrittenReports {
  json: string;
  junit: string;
  html: string;
}

/** Writes the JSON, JUnit and HTML reports; file names are stable so CI can point at them. */
export function writeReports(report: Report, dir: string): WrittenReports {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'chaos-report.json');
  const junit = join(dir, 'chaos-junit.xml');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const html = join(dir, 'chaos-report.html');
  writeFileSync(junit, renderJunit(report));
  writeFileSync(html, renderHtml(report));
  return { json, junit, html };
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderJunit } from './junit.js';
import type { Report } from './report.js';

export interface WrittenReports {
  json: string;
  junit: string;
}

/** Writes the JSON and JUnit reports; file names are stable so CI can point at them. */
export function writeReports(report: Report, dir: string): WrittenReports {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'chaos-report.json');
  const junit = join(dir, 'chaos-junit.xml');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(junit, renderJunit(report));
  return { json, junit };
}

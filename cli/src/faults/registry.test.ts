// What is derived from the fault registry outside the code: the report schema's fault enum and the
// docs' table of faults and backends. Both are checked against it, so a new fault cannot be
// missing from either.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { BACKEND_NAMES } from './fault.js';
import { FAULTS } from './registry.js';

const repo = resolve(import.meta.dirname, '../../..');

describe('the fault registry', () => {
  it("is the report schema's enum of fault types", () => {
    const schema = JSON.parse(readFileSync(`${repo}/docs/schemas/chaosctl-report.schema.json`, 'utf8'));
    const experiment = schema.properties.experiments.items;
    expect(experiment.properties.type.enum).toEqual(FAULTS.map((f) => f.name));
  });

  it("is the docs' table of faults, each backend's line its own", () => {
    const lines = readFileSync(`${repo}/docs/chaosctl.md`, 'utf8')
      .split('\n')
      .map((line) => line.replace(/\s*\|\s*/g, ' | ').trim());
    const start = lines.indexOf(`| fault | ${BACKEND_NAMES.join(' | ')} |`);
    expect(start).toBeGreaterThanOrEqual(0);
    const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
    expect(lines.slice(start + 2, end)).toEqual(
      FAULTS.map(
        (fault) =>
          `| ${[fault.name, ...BACKEND_NAMES.map((b) => fault.backends[b]?.how ?? '—')].join(' | ')} |`,
      ),
    );
  });
});

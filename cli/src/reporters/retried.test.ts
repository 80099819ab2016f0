// A run whose traffic retried like a real client: the report keeps the policy and the retried count
// (older reports, without either, still validate), and every reporter shows them next to the failures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { buildReport } from './report.js';
import { renderSummary } from './summary.js';
import { podKill, T0 } from './test-support/pod-kill-run.js';

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
const validate = ajv.compile(
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../../../docs/schemas/chaosctl-report.schema.json'), 'utf8'),
  ),
);

function retryingRun() {
  const run = podKill('pod-kill order-service', 100, 1);
  run.traffic.retry = { retries: 2, backoffMs: 20 };
  run.traffic.during.retried = 3;
  return run;
}

describe('a report of a retrying client', () => {
  it('records the retry policy and the retried requests, and older reports still validate', () => {
    const report = buildReport('local', new Date(T0), [retryingRun()], 'test');
    expect(validate(report)).toBe(true);
    expect(report.experiments[0]?.traffic).toMatchObject({
      retry: { retries: 2, backoffMs: 20 },
      during: { retried: 3 },
    });
    const run = podKill('pod-kill order-service', 100, 1);
    for (const window of ['before', 'during', 'after'] as const)
      delete (run.traffic[window] as { retried?: number }).retried;
    const older = buildReport('local', new Date(T0), [run], 'test');
    expect(validate(older)).toBe(true);
    expect(renderSummary(older)).not.toMatch(/retr/);
  });

  it('shows the retried count next to the failures in the summary, JUnit and HTML', () => {
    const report = buildReport('local', new Date(T0), [retryingRun()], 'test');
    const { failed, requests } = report.experiments[0]?.traffic.during ?? { failed: 0, requests: 0 };
    const summary = renderSummary(report);
    expect(summary).toMatch(/pod-kill order-service\s+PASS\s+\S+ m?s\s+\d+\.\d\d% \(3 retried\)/);
    expect(summary).toContain(
      // A report does not record which idempotency header (if any) the traffic declared.
      'traffic: retrying up to twice (back-off 20 ms, doubling); errors are what still failed after the retries',
    );

    const junit = renderJunit(report);
    expect(junit).toMatch(/<system-out>measured \d+\.\d\d% \(3 of \d+ requests retried\)<\/system-out>/);
    expect(junit).toContain('<property name="traffic.retry.retries" value="2"/>');

    const html = renderHtml(report);
    expect(html).toContain(`(${failed}/${requests}, 3 retried)</small>`);
    expect(html).toMatch(/<th>failed<\/th><th>retried<\/th>/);
    expect(html).toContain('<p class="note">Traffic: retrying up to twice (back-off 20 ms, doubling)');
  });
});

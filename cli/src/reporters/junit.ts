// JUnit XML as Jenkins' junit step reads it: a testsuite per experiment, a testcase per threshold.
import type { ExperimentResult, ThresholdResult } from '../experiments/result.js';
import type { Report } from './report.js';
import { describeBroken, percent } from './summary.js';

const xmlEscape = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

const seconds = (from: string, to: string) => ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(3);

const show = (value: number | boolean, unit: ThresholdResult['unit']) =>
  typeof value === 'boolean' ? String(value) : unit === 'ratio' ? percent(value) : `${value} ms`;

function testcase(experiment: ExperimentResult, t: ThresholdResult): string {
  const name = t.unit === 'boolean' ? t.name : `${t.name} <= ${show(t.limit, t.unit)}`;
  const head = `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="${xmlEscape(name)}" time="0">`;
  // The error rate is what still failed after the client's retries: say how many needed one.
  const { retried, requests } = experiment.traffic.during;
  const note = t.name === 'error-rate' && retried ? ` (${retried} of ${requests} requests retried)` : '';
  if (t.passed)
    return `${head}\n      <system-out>${xmlEscape(`measured ${show(t.measured, t.unit)}${note}`)}</system-out>\n    </testcase>`;
  const message = `${describeBroken(t, show)}${note}`;
  return `${head}\n      <failure message="${xmlEscape(message)}" type="threshold">${xmlEscape(message)}</failure>\n    </testcase>`;
}

function testsuite(experiment: ExperimentResult): string {
  const cases = experiment.thresholds.map((t) => testcase(experiment, t));
  let errors = 0;
  let skipped = 0;
  if (experiment.status === 'skipped') {
    skipped = 1;
    cases.push(
      `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="fault took effect" time="0">\n      <skipped message="${xmlEscape(experiment.error ?? 'skipped')}"/>\n    </testcase>`,
    );
  }
  if (experiment.status === 'error') {
    errors = 1;
    const message = experiment.error ?? 'experiment error';
    cases.push(
      `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="fault took effect" time="0">\n      <error message="${xmlEscape(message)}" type="experiment-error">${xmlEscape(message)}</error>\n    </testcase>`,
    );
  }
  let aborted = 0;
  if (experiment.status === 'aborted') {
    aborted = 1;
    const message = experiment.error ?? `aborted by ${experiment.abort?.condition ?? 'an abort condition'}`;
    cases.push(
      `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="no abort condition fired" time="0">\n      <failure message="${xmlEscape(message)}" type="aborted">${xmlEscape(message)}</failure>\n    </testcase>`,
    );
  }
  // Before the fault the steady-state hypothesis must hold, or nothing is injected.
  const broken = experiment.probes?.before.filter((p) => !p.ok) ?? [];
  if (broken.length) {
    const message = experiment.error ?? broken.map((p) => `${p.name}: ${p.detail}`).join('; ');
    cases.push(
      `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="steady state before the fault" time="0">\n      <failure message="${xmlEscape(message)}" type="steady-state">${xmlEscape(message)}</failure>\n    </testcase>`,
    );
  }
  const failures = experiment.thresholds.filter((t) => !t.passed).length + aborted + (broken.length ? 1 : 0);
  // The recovery phases and the client's retries as properties, so Jenkins keeps them with the results.
  const { retry } = experiment.traffic;
  const properties = [
    ...Object.entries(experiment.recovery)
      .filter(([, ms]) => ms !== null)
      .map(([name, ms]) => `      <property name="recovery.${xmlEscape(name)}" value="${ms}"/>`),
    ...(retry?.retries
      ? [
          `      <property name="traffic.retry.retries" value="${retry.retries}"/>`,
          `      <property name="traffic.retry.backoffMs" value="${retry.backoffMs}"/>`,
        ]
      : []),
  ];
  return [
    `  <testsuite name="${xmlEscape(experiment.name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(experiment.startedAt, experiment.finishedAt)}" timestamp="${experiment.startedAt.slice(0, 19)}">`,
    ...(properties.length ? ['    <properties>', ...properties, '    </properties>'] : []),
    ...cases,
    '  </testsuite>',
  ].join('\n');
}

/**
 * The --baseline gate, a testsuite per compared experiment and a testcase per gated figure: a
 * regression is a <failure>; an inconclusive comparison is <skipped> with its reason (it neither
 * passes nor fails the build on its own: chaosctl's exit code 4 says it).
 */
function baselineSuites(report: Report): { xml: string[]; tests: number; failures: number } {
  const out = { xml: [] as string[], tests: 0, failures: 0 };
  for (const repeat of report.repeats ?? []) {
    const gate = repeat.baseline;
    if (!gate) continue;
    const cases = Object.entries(gate.checks).map(([figure, check]) => {
      const head = `    <testcase classname="chaosctl.baseline" name="${xmlEscape(`${figure} regression > ${gate.minEffect}`)}" time="0">`;
      const message = `${check.verdict}: ${check.reason}`;
      if (check.verdict === 'regression')
        return `${head}\n      <failure message="${xmlEscape(message)}" type="regression">${xmlEscape(message)}</failure>\n    </testcase>`;
      if (check.verdict === 'inconclusive')
        return `${head}\n      <skipped message="${xmlEscape(message)}"/>\n    </testcase>`;
      return `${head}\n      <system-out>${xmlEscape(message)}</system-out>\n    </testcase>`;
    });
    const failures = Object.values(gate.checks).filter((c) => c.verdict === 'regression').length;
    const skipped = Object.values(gate.checks).filter((c) => c.verdict === 'inconclusive').length;
    out.tests += cases.length;
    out.failures += failures;
    out.xml.push(
      `  <testsuite name="${xmlEscape(`baseline: ${repeat.name}`)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="0">`,
      ...cases,
      '  </testsuite>',
    );
  }
  return out;
}

export function renderJunit(report: Report): string {
  const baseline = baselineSuites(report);
  const suites = [...report.experiments.map(testsuite), ...baseline.xml];
  const tests =
    report.experiments.reduce(
      (n, e) => n + e.thresholds.length + (e.status === 'error' || e.status === 'skipped' ? 1 : 0),
      0,
    ) + baseline.tests;
  const failures =
    report.experiments.reduce((n, e) => n + e.thresholds.filter((t) => !t.passed).length, 0) +
    baseline.failures;
  const errors = report.experiments.filter((e) => e.status === 'error').length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chaosctl" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds(report.startedAt, report.finishedAt)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

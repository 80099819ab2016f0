// JUnit XML as Jenkins' junit step reads it: a testsuite per experiment, a testcase per threshold.
import type { ExperimentResult, ThresholdResult } from '../experiments/runner.js';
import type { Report } from './report.js';

const xmlEscape = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

const seconds = (from: string, to: string) => ((Date.parse(to) - Date.parse(from)) / 1000).toFixed(3);

const show = (value: number | boolean, unit: ThresholdResult['unit']) =>
  typeof value === 'boolean'
    ? String(value)
    : unit === 'ratio'
      ? `${(value * 100).toFixed(2)}%`
      : `${value} ms`;

function testcase(experiment: ExperimentResult, t: ThresholdResult): string {
  const name = t.unit === 'boolean' ? t.name : `${t.name} <= ${show(t.limit, t.unit)}`;
  const head = `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="${xmlEscape(name)}" time="0">`;
  if (t.passed)
    return `${head}\n      <system-out>${xmlEscape(`measured ${show(t.measured, t.unit)}`)}</system-out>\n    </testcase>`;
  const message = `${t.name}: measured ${show(t.measured, t.unit)}, limit ${show(t.limit, t.unit)}`;
  return `${head}\n      <failure message="${xmlEscape(message)}" type="threshold">${xmlEscape(message)}</failure>\n    </testcase>`;
}

function testsuite(experiment: ExperimentResult): string {
  const cases = experiment.thresholds.map((t) => testcase(experiment, t));
  let errors = 0;
  if (experiment.status === 'error') {
    errors = 1;
    const message = experiment.error ?? 'experiment error';
    cases.push(
      `    <testcase classname="chaosctl.${xmlEscape(experiment.type)}.${xmlEscape(experiment.service)}" name="fault took effect" time="0">\n      <error message="${xmlEscape(message)}" type="experiment-error">${xmlEscape(message)}</error>\n    </testcase>`,
    );
  }
  const failures = experiment.thresholds.filter((t) => !t.passed).length;
  return [
    `  <testsuite name="${xmlEscape(experiment.name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0" time="${seconds(experiment.startedAt, experiment.finishedAt)}" timestamp="${experiment.startedAt.slice(0, 19)}">`,
    ...cases,
    '  </testsuite>',
  ].join('\n');
}

export function renderJunit(report: Report): string {
  const suites = report.experiments.map(testsuite);
  const tests = report.experiments.reduce(
    (n, e) => n + e.thresholds.length + (e.status === 'error' ? 1 : 0),
    0,
  );
  const failures = report.experiments.reduce((n, e) => n + e.thresholds.filter((t) => !t.passed).length, 0);
  const errors = report.experiments.filter((e) => e.status === 'error').length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chaosctl" tests="${tests}" failures="${failures}" errors="${errors}" time="${seconds(report.startedAt, report.finishedAt)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

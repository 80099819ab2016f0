// What every experiment command shares: pick the driver and the backend, say where chaosctl acts,
// run the experiments, write the reports, print the summary and set the exit code.
import type { Backend } from '../backends/backend.js';
import { type BackendChoice, createBackend, createDriver } from '../drivers/connect.js';
import { type Driver, targetNamed, targetOf } from '../drivers/driver.js';
import { UsageError } from '../errors.js';
import { removeAll } from '../experiments/cleanup.js';
import { parseDuration } from '../experiments/duration.js';
import { type ExperimentResult, experimentName } from '../experiments/result.js';
import type { TrafficPlan } from '../experiments/runner.js';
import type { ExperimentSpec } from '../experiments/spec.js';
import { parseMinEffect } from '../experiments/statistics.js';
import { faultOf } from '../faults/registry.js';
import { buildReport, exitCodeOf, loadReport } from '../reporters/report.js';
import type { Suite } from '../suite/load.js';
import { V1_UNIONS } from '../suite/load.js';
import { problemOf } from '../suite/problems.js';
import { SuiteV1Schema } from '../suite/upgrade.js';
import { VERSION } from '../version.js';
import { flagOf } from './options.js';
import { withoutAbsentShop } from './suite-flags.js';

/** What a fault refuses knowing the target's ready replicas (a pod-kill's outage), before anything runs. */
async function admit(spec: ExperimentSpec, driver: Driver, allowOutage: boolean): Promise<void> {
  const fault = faultOf(spec);
  if (!fault.fault.admit) return;
  const ready = (await driver.replicas(targetOf(spec))).filter((r) => r.ready).length;
  const refusal = fault.admit(ready, allowOutage);
  if (refusal) throw new UsageError(`${experimentName(spec)}: ${refusal}`);
}

export interface CommonOptions {
  driver: 'local' | 'kubernetes';
  backend: BackendChoice;
  namespace?: string;
  context?: string;
  selector?: string[];
  kubeconfig?: string;
  url?: string[];
  netemImage?: string;
  stateDir: string;
  /** Numbers and durations as given (a flag's text, a suite's value): the suite schema judges them. */
  rps: number | string;
  warmup: string | number;
  cooldown: string | number;
  retries: number | string;
  retryBackoff: string | number;
  reportDir: string;
  json: boolean;
  dryRun: boolean;
  allowOutage: boolean;
  repeat: number;
  baseline?: string;
  minEffect: string;
  pushgateway?: string;
}

/** Whether an option was given on the command line (or its environment variable), not defaulted. */
export type Given = (option: string) => boolean;

/**
 * The run's traffic settings: the suite's, each flag given explicitly over them, the flags' defaults
 * where the suite says nothing. Checked as a version 1 suite's fields, so a flag is refused by name.
 */
function trafficPlan(suite: Suite, opts: CommonOptions, given: Given): TrafficPlan {
  const pick = <K extends 'rps' | 'warmup' | 'cooldown' | 'retries' | 'retryBackoff'>(key: K) =>
    given(key) ? opts[key] : (suite.traffic?.[key] ?? opts[key]);
  const settings = {
    rps: pick('rps'),
    warmup: pick('warmup'),
    cooldown: pick('cooldown'),
    retries: pick('retries'),
    retryBackoff: pick('retryBackoff'),
  };
  const problem = problemOf(
    SuiteV1Schema,
    { version: 1, ...settings, experiments: suite.experiments },
    V1_UNIONS,
  );
  if (problem) throw new UsageError(`${flagOf(problem.path)} ${problem.message}`);
  return {
    rps: settings.rps as number,
    warmupMs: parseDuration(settings.warmup),
    cooldownMs: parseDuration(settings.cooldown),
    retry: { retries: settings.retries as number, backoffMs: parseDuration(settings.retryBackoff) },
    timeoutMs: suite.traffic?.timeout === undefined ? 10_000 : parseDuration(suite.traffic.timeout),
  };
}

export async function runExperiments(declared: Suite, opts: CommonOptions, given: Given): Promise<void> {
  let suite = declared;
  const traffic = trafficPlan(suite, opts, given);
  if (opts.driver === 'local' && opts.url?.length)
    throw new UsageError(
      "--url is for the kubernetes driver: the local platform's addresses come from its supervisor",
    );
  const specs = suite.experiments;
  const minEffect = parseMinEffect(opts.minEffect);
  const baseline = opts.baseline === undefined ? undefined : { report: loadReport(opts.baseline), minEffect };
  const runs = specs.flatMap((spec) =>
    opts.repeat > 1
      ? Array.from({ length: opts.repeat }, (_, i) => ({
          ...spec,
          name: `${experimentName(spec)} #${i + 1}`,
        }))
      : [spec],
  );
  if (opts.dryRun) return dryRun(suite, opts);
  // What only a real run needs (the runner and its traffic, the spinner, the reporters): a dry run,
  // like --help, starts without them.
  const [
    { default: chalk },
    { default: ora },
    { runExperiment },
    { PushgatewayMarker },
    { describeBroken, renderSummary },
    { removeReports, writeReports },
  ] = await Promise.all([
    import('chalk'),
    import('ora'),
    import('../experiments/runner.js'),
    import('../reporters/pushgateway.js'),
    import('../reporters/summary.js'),
    import('../reporters/write.js'),
  ]);

  const driver = await createDriver(opts);
  const results: ExperimentResult[] = [];
  const startedAt = new Date();
  let backend: Backend;
  try {
    suite = await withoutAbsentShop(driver, suite);
    const where = await driver.connect(
      Object.keys(suite.targets).map((name) => targetNamed(suite.targets, name)),
    );
    backend = await createBackend(driver, opts);
    // Every experiment's target and options are checked against the backend and the platform
    // before anything runs: a refused experiment leaves no report.
    for (const spec of specs) {
      await backend.injection(spec);
      await admit(spec, driver, opts.allowOutage);
    }
    // Before any fault: where it will land.
    process.stderr.write(`chaosctl: acting on ${where}, faults through the ${backend.name} backend\n`);
    removeReports(opts.reportDir);
  } catch (error) {
    driver.close();
    throw error;
  }
  const marker = opts.pushgateway
    ? new PushgatewayMarker(opts.pushgateway, (message) => process.stderr.write(`warning: ${message}\n`))
    : undefined;
  const interactive = process.stderr.isTTY && !opts.json;
  for (const spec of runs) {
    const spinner = interactive
      ? ora({ text: experimentName(spec), stream: process.stderr }).start()
      : undefined;
    const log = (line: string) => {
      if (spinner) spinner.text = `${experimentName(spec)}: ${line}`;
      else process.stderr.write(`[${experimentName(spec)}] ${line}\n`);
    };
    await marker?.started(experimentName(spec));
    driver.refresh?.();
    const result = await runExperiment(spec, { driver, backend, suite, traffic, log });
    await marker?.finished(result);
    results.push(result);
    // A failure says which limit it broke, also when the summary goes to a file (--json).
    const broken = result.thresholds.filter((t) => !t.passed).map((t) => describeBroken(t));
    const line = `${result.name}: ${result.status.toUpperCase()}${result.recovery.totalMs === null ? '' : `, recovery ${(result.recovery.totalMs / 1000).toFixed(2)} s`}${broken.length ? ` (${broken.join('; ')})` : ''}${result.error ? ` (${result.error})` : ''}`;
    if (spinner)
      result.status === 'pass'
        ? spinner.succeed(line)
        : result.status === 'skipped'
          ? spinner.warn(line)
          : spinner.fail(line);
    else process.stderr.write(`${line}\n`);
    // An abort condition says the system is in danger: no further fault is injected into it.
    const left = runs.length - results.length;
    if (result.status === 'aborted' && left > 0) {
      process.stderr.write(
        `chaosctl: ${result.name} was aborted: the ${left} experiment(s) after it were not run\n`,
      );
      break;
    }
  }
  await removeAll();
  driver.close();

  const report = buildReport(driver.name, startedAt, results, VERSION, baseline);
  const files = writeReports(report, opts.reportDir);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderSummary(report)}\n`);
    process.stdout.write(chalk.dim(`reports: ${files.json}, ${files.junit}, ${files.html}\n`));
  }
  process.exitCode = exitCodeOf(report.verdict);
}

/**
 * What would be broken, breaking nothing. With a reachable platform each fault's backend names
 * what it would touch; without one (no kubeconfig, no local platform) the plan says so and still
 * lists the faults, so a suite can be checked anywhere.
 */
async function dryRun(suite: Suite, opts: CommonOptions): Promise<void> {
  const specs = suite.experiments;
  let where = 'not connected';
  let plans: string[] = specs.map((spec) => faultOf(spec).describe());
  let driver: Driver | undefined;
  try {
    driver = await createDriver(opts);
    where = await driver.connect(Object.keys(suite.targets).map((name) => targetNamed(suite.targets, name)));
    const backend = await createBackend(driver, opts);
    plans = await Promise.all(specs.map(async (spec) => (await backend.injection(spec)).plan()));
    where += `, ${backend.name} backend`;
  } catch (error) {
    where = `not connected: ${(error as Error).message}`;
  } finally {
    driver?.close();
  }
  const plan = specs.map((spec, i) => ({ experiment: experimentName(spec), would: plans[i], spec }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ dryRun: true, driver: opts.driver, where, plan }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`dry run (${where}): nothing will be broken\n`);
  for (const p of plan) process.stdout.write(`would run ${p.experiment}: ${p.would}\n`);
}

// What every experiment command shares: pick the driver and the backend, say where chaosctl acts,
// run the experiments, write the reports, print the summary and set the exit code.
import chalk from 'chalk';
import ora from 'ora';
import { ChaosMeshBackend, chaosMeshInstalled } from './backends/chaos-mesh/index.js';
import { KubernetesBackend } from './backends/kubernetes/index.js';
import { LocalBackend } from './backends/local/index.js';
import type { Driver } from './drivers/driver.js';
import { loadCluster } from './drivers/kubernetes/cluster.js';
import { KubeClient } from './drivers/kubernetes/kube-client.js';
import { KubernetesDriver } from './drivers/kubernetes/kubernetes-driver.js';
import { parseSelector } from './drivers/kubernetes/selectors.js';
import { LocalDriver } from './drivers/local/local-driver.js';
import { UsageError } from './errors.js';
import { removeAll } from './experiments/cleanup.js';
import { parseDuration } from './experiments/duration.js';
import { type ExperimentResult, experimentName, runExperiment } from './experiments/runner.js';
import { checkSpec, type ExperimentSpec, MAX_RETRY_BACKOFF_MS, TARGET_NAME } from './experiments/spec.js';
import { parseMinEffect } from './experiments/statistics.js';
import type { Backend } from './faults/fault.js';
import { faultOf } from './faults/index.js';
import { PushgatewayMarker } from './reporters/pushgateway.js';
import { buildReport, exitCodeOf, loadReport } from './reporters/report.js';
import { renderSummary, showValue } from './reporters/summary.js';
import { writeReports } from './reporters/write.js';
import { MAX_RPS } from './traffic/load.js';
import { VERSION } from './version.js';

type BackendChoice = 'auto' | 'local' | 'kubernetes' | 'chaos-mesh';

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
  rps: string;
  /** Durations: text from a flag, text or a number of ms from a suite. */
  warmup: string | number;
  cooldown: string | number;
  retries: number;
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

function createDriver(opts: CommonOptions): Driver {
  if (opts.driver === 'local') return new LocalDriver(opts.stateDir);
  const cluster = loadCluster({
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    namespace: opts.namespace,
  });
  return new KubernetesDriver(new KubeClient(cluster), {
    urls: parseUrls(opts.url ?? []),
    selectors: parseSelectors(opts.selector ?? []).perService,
  });
}

async function createBackend(driver: Driver, opts: CommonOptions): Promise<Backend> {
  const choice = opts.backend;
  if (driver instanceof LocalDriver) {
    if (choice !== 'auto' && choice !== 'local')
      throw new UsageError(`--backend ${choice} needs --driver kubernetes`);
    return new LocalBackend(driver);
  }
  const kube = driver as KubernetesDriver;
  if (choice === 'local') throw new UsageError('--backend local needs --driver local');
  if (choice === 'kubernetes') return new KubernetesBackend(kube, opts.netemImage);
  const installed = await chaosMeshInstalled(kube.client);
  if (choice === 'chaos-mesh' && !installed)
    throw new UsageError(
      '--backend chaos-mesh: the cluster does not serve chaos-mesh.org/v1alpha1 NetworkChaos and StressChaos (is Chaos Mesh installed?)',
    );
  return installed ? new ChaosMeshBackend(kube) : new KubernetesBackend(kube, opts.netemImage);
}

/** `--url http://x` (order-service) or `--url inventory-service=http://y`, repeatable. */
export function parseUrls(values: string[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const value of values) {
    const [, service = 'order-service', url = ''] = /^(?:([a-z0-9-]+)=)?(.*)$/.exec(value) ?? [];
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      !new RegExp(TARGET_NAME).test(service) ||
      !parsed ||
      !/^https?:$/.test(parsed.protocol) ||
      !parsed.host
    ) {
      throw new UsageError(
        `--url must be http(s)://host:port or <service>=http(s)://host:port (got '${value}')`,
      );
    }
    urls[service] = url.replace(/\/$/, '');
  }
  return urls;
}

/** `--selector labels` (the target's) or `--selector service=labels` (per service), repeatable. */
export function parseSelectors(values: string[]): { target?: string; perService: Record<string, string> } {
  const perService: Record<string, string> = {};
  let target: string | undefined;
  for (const value of values) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(.+)$/.exec(value);
    // "service=labels" names a service when what follows the first '=' is a selector itself.
    const isPerService = m !== null && /[=!]|\s(in|notin)\s/.test(m[3] ?? '');
    const selector = isPerService ? (m?.[3] as string) : value;
    parseSelector(selector);
    if (isPerService) perService[m?.[1] as string] = selector;
    else target = selector;
  }
  return { target, perService };
}

export async function runExperiments(specs: ExperimentSpec[], opts: CommonOptions): Promise<void> {
  const rps = Number(opts.rps);
  if (!Number.isFinite(rps) || rps <= 0 || rps > MAX_RPS)
    throw new UsageError(
      `--rps must be a number above 0 and at most ${MAX_RPS}, what one generator holds (got '${opts.rps}')`,
    );
  const warmupMs = parseDuration(opts.warmup, '--warmup');
  const cooldownMs = parseDuration(opts.cooldown, '--cooldown');
  const retry = { retries: opts.retries, backoffMs: parseDuration(opts.retryBackoff, '--retry-backoff') };
  if (retry.backoffMs > MAX_RETRY_BACKOFF_MS)
    throw new UsageError(`--retry-backoff must be at most ${MAX_RETRY_BACKOFF_MS / 1000}s`);
  parseUrls(opts.url ?? []);
  if (opts.driver === 'local' && opts.url?.length)
    throw new UsageError(
      "--url is for the kubernetes driver: the local platform's addresses come from its supervisor",
    );

  for (const spec of specs) checkSpec(spec);
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
  if (opts.dryRun) return dryRun(specs, opts);

  const driver = createDriver(opts);
  const results: ExperimentResult[] = [];
  const startedAt = new Date();
  let backend: Backend;
  try {
    const where = await driver.connect();
    backend = await createBackend(driver, opts);
    // Every experiment's target and options are checked against the backend before anything runs.
    for (const spec of specs) backend.injection(spec);
    // Before any fault: where it will land.
    process.stderr.write(`chaosctl: acting on ${where}, faults through the ${backend.name} backend\n`);
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
    if (driver instanceof KubernetesDriver) driver.refresh();
    const result = await runExperiment(spec, {
      driver,
      backend,
      rps,
      retry,
      warmupMs,
      cooldownMs,
      allowOutage: opts.allowOutage,
      log,
    });
    await marker?.finished(result);
    results.push(result);
    // A failure says which limit it broke, also when the summary goes to a file (--json).
    const broken = result.thresholds
      .filter((t) => !t.passed)
      .map((t) => `${t.name} ${showValue(t.measured, t.unit)} over ${showValue(t.limit, t.unit)}`);
    const line = `${result.name}: ${result.status.toUpperCase()}${result.recovery.totalMs === null ? '' : `, recovery ${(result.recovery.totalMs / 1000).toFixed(2)} s`}${broken.length ? ` (${broken.join('; ')})` : ''}${result.error ? ` (${result.error})` : ''}`;
    if (spinner)
      result.status === 'pass'
        ? spinner.succeed(line)
        : result.status === 'skipped'
          ? spinner.warn(line)
          : spinner.fail(line);
    else process.stderr.write(`${line}\n`);
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
async function dryRun(specs: ExperimentSpec[], opts: CommonOptions): Promise<void> {
  let where = 'not connected';
  let plans: string[] = specs.map((spec) => faultOf(spec).describe());
  let driver: Driver | undefined;
  try {
    driver = createDriver(opts);
    where = await driver.connect();
    const backend = await createBackend(driver, opts);
    plans = await Promise.all(specs.map((spec) => backend.injection(spec).plan()));
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

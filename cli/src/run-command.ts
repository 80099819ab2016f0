// What every experiment command shares: pick the driver, run the experiments, write the reports,
// print the summary and set the exit code.
import chalk from 'chalk';
import ora from 'ora';
import { type Driver, SERVICE_NAMES, type ServiceName } from './drivers/driver.js';
import { clientNodeApi } from './drivers/kubernetes/kube-api.js';
import { KubernetesDriver } from './drivers/kubernetes/kubernetes-driver.js';
import { LocalDriver } from './drivers/local/local-driver.js';
import { EXIT, UsageError } from './errors.js';
import { removeAll } from './experiments/cleanup.js';
import { compareWithBaseline } from './experiments/compare.js';
import { parseDuration } from './experiments/duration.js';
import { type ExperimentResult, experimentName, runExperiment } from './experiments/runner.js';
import { checkSpec, type ExperimentSpec } from './experiments/spec.js';
import { PushgatewayMarker } from './reporters/pushgateway.js';
import { buildReport, loadReport } from './reporters/report.js';
import { renderSummary } from './reporters/summary.js';
import { writeReports } from './reporters/write.js';
import { VERSION } from './version.js';

export interface CommonOptions {
  driver: 'local' | 'kubernetes';
  namespace: string;
  selector?: string;
  kubeconfig?: string;
  url?: string[];
  netemImage?: string;
  stateDir: string;
  rps: string;
  warmup: string;
  cooldown: string;
  reportDir: string;
  json: boolean;
  dryRun: boolean;
  allowOutage: boolean;
  repeat: number;
  baseline?: string;
  baselineMargin: string;
  pushgateway?: string;
}

export function createDriver(opts: CommonOptions): Driver {
  if (opts.driver === 'local') return new LocalDriver(opts.stateDir);
  return new KubernetesDriver({
    api: clientNodeApi(opts.kubeconfig),
    namespace: opts.namespace,
    ...(opts.selector ? { selector: opts.selector } : {}),
    urls: parseUrls(opts.url ?? []),
    ...(opts.netemImage ? { netemImage: opts.netemImage } : {}),
  });
}

/** `--url http://x` (order-service) or `--url inventory-service=http://y`, repeatable. */
export function parseUrls(values: string[]): Partial<Record<ServiceName, string>> {
  const urls: Partial<Record<ServiceName, string>> = {};
  for (const value of values) {
    const [, service = 'order-service', url = ''] = /^(?:([a-z-]+)=)?(.*)$/.exec(value) ?? [];
    if (!SERVICE_NAMES.includes(service as ServiceName) || !/^https?:\/\/\S+$/.test(url)) {
      throw new UsageError(
        `--url must be http(s)://host:port or <service>=http(s)://host:port (got '${value}')`,
      );
    }
    urls[service as ServiceName] = url.replace(/\/$/, '');
  }
  return urls;
}

const describeSpec = (spec: ExperimentSpec) =>
  `${experimentName(spec)}: ${JSON.stringify({ ...spec, name: undefined })}`;

export async function runExperiments(specs: ExperimentSpec[], opts: CommonOptions): Promise<void> {
  const rps = Number(opts.rps);
  if (!Number.isFinite(rps) || rps <= 0 || rps > 5000)
    throw new UsageError(`--rps must be a number between 0 and 5000 (got '${opts.rps}')`);
  const warmupMs = parseDuration(opts.warmup, '--warmup');
  const cooldownMs = parseDuration(opts.cooldown, '--cooldown');

  for (const spec of specs) checkSpec(spec);
  const margin = Number(opts.baselineMargin);
  if (!Number.isFinite(margin) || margin < 0)
    throw new UsageError(`--baseline-margin must be a number >= 0 (got '${opts.baselineMargin}')`);
  const baseline = opts.baseline === undefined ? undefined : loadReport(opts.baseline);
  const runs = specs.flatMap((spec) =>
    opts.repeat > 1
      ? Array.from({ length: opts.repeat }, (_, i) => ({
          ...spec,
          name: `${experimentName(spec)} #${i + 1}`,
        }))
      : [spec],
  );
  if (opts.dryRun) {
    const plan = specs.map((spec) => ({ experiment: experimentName(spec), would: spec }));
    if (opts.json)
      process.stdout.write(`${JSON.stringify({ dryRun: true, driver: opts.driver, plan }, null, 2)}\n`);
    else
      for (const spec of specs)
        process.stdout.write(`would run ${describeSpec(spec)} (dry run: nothing broken)\n`);
    return;
  }

  const driver = createDriver(opts);
  const marker = opts.pushgateway
    ? new PushgatewayMarker(opts.pushgateway, (message) => process.stderr.write(`warning: ${message}\n`))
    : undefined;
  const interactive = process.stderr.isTTY && !opts.json;
  const startedAt = new Date();
  const results: ExperimentResult[] = [];
  for (const spec of runs) {
    const spinner = interactive
      ? ora({ text: experimentName(spec), stream: process.stderr }).start()
      : undefined;
    const log = (line: string) => {
      if (spinner) spinner.text = `${experimentName(spec)}: ${line}`;
      else process.stderr.write(`[${experimentName(spec)}] ${line}\n`);
    };
    await marker?.started(experimentName(spec));
    const result = await runExperiment(spec, {
      driver,
      rps,
      warmupMs,
      cooldownMs,
      allowOutage: opts.allowOutage,
      log,
    });
    if (baseline) compareWithBaseline(result, baseline, margin);
    await marker?.finished(result);
    results.push(result);
    const line = `${result.name}: ${result.status.toUpperCase()}${result.recovery.totalMs === null ? '' : `, recovery ${(result.recovery.totalMs / 1000).toFixed(2)} s`}`;
    if (spinner) result.status === 'pass' ? spinner.succeed(line) : spinner.fail(line);
    else process.stderr.write(`${line}\n`);
  }
  await removeAll();
  driver.close();

  const report = buildReport(driver.name, startedAt, results, VERSION);
  const files = writeReports(report, opts.reportDir);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${renderSummary(report)}\n`);
    process.stdout.write(chalk.dim(`reports: ${files.json}, ${files.junit}, ${files.html}\n`));
  }
  process.exitCode = report.verdict === 'pass' ? EXIT.ok : EXIT.failed;
}

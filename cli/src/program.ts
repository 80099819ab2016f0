// chaosctl's commands: breaks the platform on purpose, measures what users felt, and tells CI pass or fail.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { SERVICE_NAMES } from './drivers/driver.js';
import { allReady, fetchStatus, localDown, localUp, readState } from './drivers/local/platform.js';
import { EXIT, UsageError } from './errors.js';
import { removeAll } from './experiments/cleanup.js';
import type { ExperimentSpec, Thresholds } from './experiments/spec.js';
import { loadSuite } from './experiments/suite.js';
import { loadReport } from './reporters/report.js';
import { renderSummary } from './reporters/summary.js';
import { writeReports } from './reporters/write.js';
import { type CommonOptions, runExperiments } from './run-command.js';
import { VERSION } from './version.js';

const DEFAULT_SUITE = resolve(import.meta.dirname, '../suites/default.yaml');

const program = new Command('chaosctl')
  .description('Chaos experiments against the chaos-platform services: break, measure recovery, gate CI')
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name} must be a positive integer (got '${value}')`);
  return n;
};

/** Options every experiment command takes. */
function common(command: Command): Command {
  return command
    .addOption(
      new Option('--driver <driver>', 'where the platform runs')
        .choices(['local', 'kubernetes'])
        .env('CHAOSCTL_DRIVER')
        .default('kubernetes'),
    )
    .option('--namespace <namespace>', 'kubernetes namespace of the platform', 'chaos-platform')
    .option(
      '--selector <selector>',
      'kubernetes label selector of the target pods (default app.kubernetes.io/name=<service>)',
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig for the kubernetes driver (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .option(
      '--url <url...>',
      'where traffic reaches a service: http://host:port (order-service) or <service>=http://host:port',
    )
    .option(
      '--netem-image <image>',
      'image with tc for network-delay on kubernetes',
      'nicolaka/netshoot:v0.13',
    )
    .option('--state-dir <dir>', 'where the local platform keeps its state', '.chaosctl')
    .option('--rps <n>', 'order traffic while the experiment runs, requests per second', '50')
    .option('--warmup <duration>', 'traffic before the fault (the baseline)', '3s')
    .option('--cooldown <duration>', 'traffic after the fault', '3s')
    .option('--report-dir <dir>', 'where the JSON and JUnit reports go', 'reports')
    .option('--json', 'print the JSON report on stdout and nothing else', false)
    .option('--dry-run', 'say what would be broken, break nothing', false)
    .option('--allow-outage', 'allow faults that take every replica of a service down', false)
    .option('--no-color', 'no colours (also NO_COLOR=1); colours and spinners only ever appear on a terminal')
    .option(
      '--repeat <n>',
      'run each experiment n times; the report gives recovery p50/p95/max',
      positiveInt('--repeat'),
      1,
    )
    .option('--baseline <report.json>', 'an earlier chaos-report.json: fail on regressions beyond the margin')
    .option('--baseline-margin <ratio>', 'allowed regression over the baseline (0.5 = 50% slower)', '0.5')
    .option(
      '--pushgateway <url>',
      'mark experiments in Prometheus through this Pushgateway (dashboard annotations)',
    );
}

function thresholds(command: Command): Command {
  return command
    .option('--sla <duration>', 'recovery-time limit', '30s')
    .option('--max-error-rate <ratio>', 'failed-request share allowed during the fault (0-1)', '0.05')
    .option('--max-p95 <duration>', 'p95 latency allowed during the fault', '2s');
}

interface ThresholdFlags {
  sla: string;
  maxErrorRate: string;
  maxP95: string;
}

/** What a single-experiment command's action receives. */
type ExperimentFlags<Own> = CommonOptions & ThresholdFlags & { service: ExperimentSpec['service'] } & Own;

function thresholdsFrom(opts: ThresholdFlags): Thresholds {
  const maxErrorRate = Number(opts.maxErrorRate);
  if (!Number.isFinite(maxErrorRate) || maxErrorRate < 0 || maxErrorRate > 1) {
    throw new UsageError(`--max-error-rate must be between 0 and 1 (got '${opts.maxErrorRate}')`);
  }
  return { recoverySla: opts.sla, maxErrorRate, maxP95: opts.maxP95, integrity: true };
}

const service = () =>
  new Option('--service <service>', 'target service').choices(SERVICE_NAMES).makeOptionMandatory();

thresholds(common(program.command('pod-kill').description('kill replicas of a service and measure recovery')))
  .addOption(service())
  .option('--count <n>', 'replicas to kill', positiveInt('--count'), 1)
  .option('--all', 'kill every replica (an outage: needs --allow-outage)', false)
  .action(async (opts: ExperimentFlags<{ count: number; all: boolean }>) => {
    await runExperiments(
      [
        {
          type: 'pod-kill',
          service: opts.service,
          count: opts.all ? 'all' : opts.count,
          thresholds: thresholdsFrom(opts),
        },
      ],
      opts,
    );
  });

thresholds(
  common(program.command('network-delay').description('add latency in front of a service for a while')),
)
  .addOption(service())
  .requiredOption('--latency <duration>', 'added latency, e.g. 300ms')
  .option('--jitter <duration>', 'random variation of the latency', '0ms')
  .option('--duration <duration>', 'how long the latency stays', '30s')
  .action(async (opts: ExperimentFlags<{ latency: string; jitter: string; duration: string }>) => {
    await runExperiments(
      [
        {
          type: 'network-delay',
          service: opts.service,
          latency: opts.latency,
          jitter: opts.jitter,
          duration: opts.duration,
          thresholds: thresholdsFrom(opts),
        },
      ],
      opts,
    );
  });

thresholds(common(program.command('cpu-stress').description('burn CPU next to a service for a while')))
  .addOption(service())
  .option('--workers <n>', 'CPU burners', positiveInt('--workers'), 2)
  .option('--duration <duration>', 'how long the burn lasts', '30s')
  .action(async (opts: ExperimentFlags<{ workers: number; duration: string }>) => {
    await runExperiments(
      [
        {
          type: 'cpu-stress',
          service: opts.service,
          workers: opts.workers,
          duration: opts.duration,
          thresholds: thresholdsFrom(opts),
        },
      ],
      opts,
    );
  });

common(
  program
    .command('run-all')
    .description('run every experiment of a suite, one after another, into one report'),
)
  .option('--suite <file>', 'suite YAML', DEFAULT_SUITE)
  .option('--sla <duration>', "override every experiment's recovery-time limit")
  .action(async (opts: CommonOptions & { suite: string; sla?: string }, command: Command) => {
    const suite = loadSuite(opts.suite);
    const specs = suite.experiments.map((spec) =>
      opts.sla === undefined ? spec : { ...spec, thresholds: { ...spec.thresholds, recoverySla: opts.sla } },
    );
    // Suite values apply unless the flag was given explicitly.
    const given = (name: string) =>
      command.getOptionValueSource(name) === 'cli' || command.getOptionValueSource(name) === 'env';
    await runExperiments(specs, {
      ...opts,
      rps: given('rps') ? opts.rps : String(suite.rps ?? opts.rps),
      warmup: given('warmup') ? opts.warmup : String(suite.warmup ?? opts.warmup),
      cooldown: given('cooldown') ? opts.cooldown : String(suite.cooldown ?? opts.cooldown),
    });
  });

program
  .command('report')
  .description(
    'render the JUnit and HTML reports (and the summary) from a chaos-report.json, e.g. one a Job printed',
  )
  .argument('<report.json>', 'a chaos-report.json')
  .option('--report-dir <dir>', 'where the reports go', 'reports')
  .action(async (file: string, opts: { reportDir: string }) => {
    const report = loadReport(file);
    const files = writeReports(report, opts.reportDir);
    process.stdout.write(`${renderSummary(report)}\nreports: ${files.json}, ${files.junit}, ${files.html}\n`);
    process.exitCode = report.verdict === 'pass' ? EXIT.ok : EXIT.failed;
  });

const local = program
  .command('local')
  .description('the platform as local processes: the no-cluster stand-in');
local
  .command('up')
  .description('start every service with N replicas in the background; returns once all are ready')
  .option('--replicas <n>', 'replicas per service', positiveInt('--replicas'), 2)
  .option(
    '--base-port <port>',
    'order-service port; inventory and notification take the next two',
    positiveInt('--base-port'),
    5000,
  )
  .option('--seed-stock <n>', 'units per product in the fresh database', positiveInt('--seed-stock'))
  .option('--state-dir <dir>', 'where the local platform keeps its state', '.chaosctl')
  .action(async (opts: { replicas: number; basePort: number; seedStock?: number; stateDir: string }) => {
    const state = await localUp({
      stateDir: opts.stateDir,
      replicas: opts.replicas,
      basePort: opts.basePort,
      seedStock: opts.seedStock,
    });
    process.stdout.write(
      `local platform up (supervisor pid ${state.pid}): order-service http://127.0.0.1:${opts.basePort}, ` +
        `inventory-service :${opts.basePort + 1}, notification-service :${opts.basePort + 2}, ${opts.replicas} replicas each\n`,
    );
  });
local
  .command('status')
  .description('replicas, readiness and active faults of the local platform')
  .option('--state-dir <dir>', 'where the local platform keeps its state', '.chaosctl')
  .option('--json', 'print JSON', false)
  .action(async (opts: { stateDir: string; json: boolean }) => {
    const state = readState(opts.stateDir);
    const status = state ? await fetchStatus(state.controlUrl).catch(() => undefined) : undefined;
    if (!status) {
      process.stdout.write(opts.json ? '{"running":false}\n' : 'no local platform is running\n');
      process.exitCode = EXIT.unreachable;
      return;
    }
    if (opts.json)
      return void process.stdout.write(
        `${JSON.stringify({ running: true, ready: allReady(status), ...status }, null, 2)}\n`,
      );
    for (const [name, svc] of Object.entries(status.services)) {
      const ready = svc.replicas.filter((r) => r.ready).length;
      process.stdout.write(
        `${name.padEnd(22)} ${svc.url}  ${ready}/${svc.replicas.length} ready  restarts ${svc.replicas.map((r) => r.restarts).join(',')}\n`,
      );
    }
    for (const fault of status.faults)
      process.stdout.write(
        `fault: ${fault.latencyMs} ms latency on ${fault.service} until ${new Date(fault.until).toISOString()}\n`,
      );
  });
local
  .command('down')
  .description('stop the local platform and everything it started')
  .option('--state-dir <dir>', 'where the local platform keeps its state', '.chaosctl')
  .action(async (opts: { stateDir: string }) => {
    process.stdout.write(
      (await localDown(opts.stateDir)) ? 'local platform stopped\n' : 'no local platform was running\n',
    );
  });

// Ctrl-C: take every injected fault back before leaving.
process.once('SIGINT', () => {
  void removeAll().finally(() => process.exit(130));
});

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander already printed its one line (or the help); help and version are not errors.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  const exitCode = (error as { exitCode?: number }).exitCode;
  process.stderr.write(`chaosctl: ${(error as Error).message}\n`);
  process.exitCode = exitCode === EXIT.usage || exitCode === EXIT.unreachable ? exitCode : EXIT.failed;
});

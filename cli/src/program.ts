// chaosctl's commands: breaks the platform on purpose, measures what users felt, and tells CI pass or fail.
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_AGENT_IMAGE } from './backends/kubernetes/network-delay.js';
import { DEFAULT_NAMESPACE } from './drivers/kubernetes/cluster.js';
import { allReady, fetchStatus, localDown, localUp, readState } from './drivers/local/platform.js';
import { EXIT, UsageError } from './errors.js';
import { removeAll } from './experiments/cleanup.js';
import { MAX_RETRIES, TARGET_NAME, type Thresholds } from './experiments/spec.js';
import { loadSuite } from './experiments/suite.js';
import { exitCodeOf, loadReport } from './reporters/report.js';
import { renderSummary } from './reporters/summary.js';
import { writeReports } from './reporters/write.js';
import { type CommonOptions, parseSelectors, runExperiments } from './run-command.js';
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

const retryCount = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_RETRIES)
    throw new UsageError(`--retries must be a whole number from 0 to ${MAX_RETRIES} (got '${value}')`);
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
    .addOption(
      new Option(
        '--backend <backend>',
        'who carries out the faults: auto = Chaos Mesh when its CRDs are served, else native Kubernetes (local with --driver local)',
      )
        .choices(['auto', 'local', 'kubernetes', 'chaos-mesh'])
        .default('auto'),
    )
    .option(
      '--namespace <namespace>',
      `kubernetes namespace of the platform (default: the in-cluster pod's, the context's, or ${DEFAULT_NAMESPACE})`,
    )
    .option(
      '--context <context>',
      'kubeconfig context to act on (default: the current one; chaosctl prints which)',
    )
    .option(
      '--selector <selector...>',
      "label selector of the target's pods (equality or set-based), or <service>=<selector> for any service (default app.kubernetes.io/name=<service>)",
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig for the kubernetes driver (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .option(
      '--url <url...>',
      'where traffic reaches a service: http://host:port (order-service) or <service>=http://host:port (default: its Service, in-cluster)',
    )
    .option(
      '--netem-image <image>',
      'image of the network-delay agent (needs sh and tc) for the kubernetes backend',
      DEFAULT_AGENT_IMAGE,
    )
    .option('--state-dir <dir>', 'where the local platform keeps its state', '.chaosctl')
    .option('--rps <n>', 'order traffic while the experiment runs, requests per second', '50')
    .option('--warmup <duration>', 'traffic before the fault (the baseline)', '3s')
    .option('--cooldown <duration>', 'traffic after the fault', '3s')
    .option(
      '--retries <n>',
      'client retries of an order that got no answer, a 429 or a 5xx, with the same Idempotency-Key, as a real caller would',
      retryCount,
      0,
    )
    .option('--retry-backoff <duration>', 'wait before the first retry, doubled for each next one', '50ms')
    .option('--report-dir <dir>', 'where the JSON and JUnit reports go', 'reports')
    .option('--json', 'print the JSON report on stdout and nothing else', false)
    .option('--dry-run', 'say what would be broken, break nothing', false)
    .option('--allow-outage', 'allow faults that take every replica of a service down', false)
    .option('--no-color', 'no colours (also NO_COLOR=1); colours and spinners only ever appear on a terminal')
    .option(
      '--repeat <n>',
      "run each experiment n times; the report gives each figure's median and 95% bootstrap interval",
      positiveInt('--repeat'),
      1,
    )
    .option(
      '--baseline <report.json>',
      'an earlier chaos-report.json: fail (exit 1) on a significant regression beyond --min-effect, exit 4 when too noisy to tell',
    )
    .option(
      '--min-effect <amount>',
      'the smallest regression worth failing for: a duration (250ms) or a share of the baseline (20%)',
      '250ms',
    )
    .option(
      '--pushgateway <url>',
      'mark experiments in Prometheus through this Pushgateway (dashboard annotations)',
    );
}

function thresholds(command: Command): Command {
  return command
    .option('--sla <duration>', 'recovery limit: capacity restored and user-facing recovery', '30s')
    .option('--max-error-rate <ratio>', 'failed-request share allowed during the fault (0-1)', '0.05')
    .option('--max-p95 <duration>', 'p95 latency allowed during the fault', '2s');
}

interface ThresholdFlags {
  sla: string;
  maxErrorRate: string;
  maxP95: string;
}

/** What a single-experiment command's action receives. */
type ExperimentFlags<Own> = CommonOptions & ThresholdFlags & { service: string; workload?: string } & Own;

function thresholdsFrom(opts: ThresholdFlags): Thresholds {
  const maxErrorRate = Number(opts.maxErrorRate);
  if (!Number.isFinite(maxErrorRate) || maxErrorRate < 0 || maxErrorRate > 1) {
    throw new UsageError(`--max-error-rate must be between 0 and 1 (got '${opts.maxErrorRate}')`);
  }
  return { recoverySla: opts.sla, maxErrorRate, maxP95: opts.maxP95, integrity: true };
}

const targetName = (value: string) => {
  if (!new RegExp(TARGET_NAME).test(value))
    throw new UsageError(`--service must be a Kubernetes name such as order-service (got '${value}')`);
  return value;
};

const service = () =>
  new Option(
    '--service <service>',
    'target: order-service, inventory-service, notification-service, or any Service/workload name on Kubernetes',
  )
    .argParser(targetName)
    .makeOptionMandatory();

const workload = () =>
  new Option(
    '--workload <kind/name>',
    'the workload whose desired replicas define capacity: deployment/<name> or statefulset/<name> (default: found from the pods)',
  );

/** The target part of a spec, from the flags: the service, its selector, its workload. */
function targetFrom(opts: ExperimentFlags<object>) {
  const { target } = parseSelectors(opts.selector ?? []);
  return {
    service: opts.service,
    ...(target ? { selector: target } : {}),
    ...(opts.workload ? { workload: opts.workload } : {}),
  };
}

const nonNegativeInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${name} must be a whole number >= 0 (got '${value}')`);
  return n;
};

thresholds(common(program.command('pod-kill').description('kill replicas of a service and measure recovery')))
  .addOption(service())
  .addOption(workload())
  .option('--count <n>', 'replicas to kill', positiveInt('--count'), 1)
  .option('--all', 'kill every replica (an outage: needs --allow-outage)', false)
  .addOption(
    new Option(
      '--mode <mode>',
      'delete: DELETE the pod (bypasses PodDisruptionBudgets); evict: the Eviction API (honours them)',
    )
      .choices(['delete', 'evict'])
      .default('delete'),
  )
  .option(
    '--grace-period <seconds>',
    "seconds each victim gets to shut down; 0 = crash (default: the pod's own)",
    nonNegativeInt('--grace-period'),
  )
  .option('--seed <n>', 'seed of the random victim choice, to repeat a run', nonNegativeInt('--seed'))
  .action(
    async (
      opts: ExperimentFlags<{
        count: number;
        all: boolean;
        mode: 'delete' | 'evict';
        gracePeriod?: number;
        seed?: number;
      }>,
    ) => {
      await runExperiments(
        [
          {
            type: 'pod-kill',
            ...targetFrom(opts),
            count: opts.all ? 'all' : opts.count,
            mode: opts.mode,
            ...(opts.gracePeriod === undefined ? {} : { gracePeriodSeconds: opts.gracePeriod }),
            ...(opts.seed === undefined ? {} : { seed: opts.seed }),
            thresholds: thresholdsFrom(opts),
          },
        ],
        opts,
      );
    },
  );

thresholds(
  common(program.command('network-delay').description('add latency in front of a service for a while')),
)
  .addOption(service())
  .addOption(workload())
  .requiredOption('--latency <duration>', 'added latency, e.g. 300ms')
  .option('--jitter <duration>', 'random variation of the latency', '0ms')
  .option('--duration <duration>', 'how long the latency stays', '30s')
  .option(
    '--callers <service...>',
    "services whose traffic to the target is delayed (default: the target's callers on the platform)",
  )
  .action(
    async (
      opts: ExperimentFlags<{ latency: string; jitter: string; duration: string; callers?: string[] }>,
    ) => {
      for (const caller of opts.callers ?? []) targetName(caller);
      await runExperiments(
        [
          {
            type: 'network-delay',
            ...targetFrom(opts),
            ...(opts.callers ? { callers: opts.callers } : {}),
            latency: opts.latency,
            jitter: opts.jitter,
            duration: opts.duration,
            thresholds: thresholdsFrom(opts),
          },
        ],
        opts,
      );
    },
  );

thresholds(
  common(program.command('cpu-stress').description("burn CPU in a service's containers for a while")),
)
  .addOption(service())
  .addOption(workload())
  .option('--workers <n>', 'CPU burners', positiveInt('--workers'), 2)
  .option('--duration <duration>', 'how long the burn lasts', '30s')
  .action(async (opts: ExperimentFlags<{ workers: number; duration: string }>) => {
    await runExperiments(
      [
        {
          type: 'cpu-stress',
          ...targetFrom(opts),
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
  .option(
    '--sla <duration>',
    "override every experiment's recovery limit (capacity restored, user-facing recovery)",
  )
  .action(async (opts: CommonOptions & { suite: string; sla?: string }, command: Command) => {
    const suite = loadSuite(opts.suite);
    if (parseSelectors(opts.selector ?? []).target)
      throw new UsageError('run-all has several targets: give --selector as <service>=<selector>');
    const specs = suite.experiments.map((spec) =>
      opts.sla === undefined ? spec : { ...spec, thresholds: { ...spec.thresholds, recoverySla: opts.sla } },
    );
    // Suite values apply unless the flag was given explicitly.
    const given = (name: string) =>
      command.getOptionValueSource(name) === 'cli' || command.getOptionValueSource(name) === 'env';
    await runExperiments(specs, {
      ...opts,
      rps: given('rps') ? opts.rps : String(suite.rps ?? opts.rps),
      warmup: given('warmup') ? opts.warmup : (suite.warmup ?? opts.warmup),
      cooldown: given('cooldown') ? opts.cooldown : (suite.cooldown ?? opts.cooldown),
      retries: given('retries') ? opts.retries : (suite.retries ?? opts.retries),
      retryBackoff: given('retryBackoff') ? opts.retryBackoff : (suite.retryBackoff ?? opts.retryBackoff),
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
    process.exitCode = exitCodeOf(report.verdict);
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

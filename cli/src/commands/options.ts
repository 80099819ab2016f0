// The options several commands share, declared once, and what they become in a spec.
import { Command, Option } from 'commander';
import { DEFAULT_NAMESPACE } from '../drivers/kubernetes/namespace.js';
import { parseSelector } from '../drivers/kubernetes/selectors.js';
import { UsageError } from '../errors.js';
import { DEFAULT_THRESHOLDS, numeric, TARGET_NAME } from '../experiments/fields.js';
import type { Thresholds } from '../experiments/spec.js';
import type { Fault } from '../faults/fault.js';
import { DEFAULT_AGENT_IMAGE } from '../faults/network-delay/spec.js';

export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name} must be a positive integer (got '${value}')`);
  return n;
};

/** Suite fields whose flag is not their name in kebab-case. */
const FLAG_NAMES: Record<string, string> = { recoverySla: 'sla', gracePeriodSeconds: 'grace-period' };

/** The flag that gives a suite field, e.g. experiments[0].thresholds.maxP95 -> --max-p95. */
export function flagOf(path: Array<string | number>): string {
  const field = String(path.findLast((key) => !/^\d+$/.test(String(key))));
  return `--${FLAG_NAMES[field] ?? field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export const stateDirOption = () =>
  new Option('--state-dir <dir>', 'where the local platform keeps its state').default('.chaosctl');

/** Where the targets are: the driver and how it reaches them (experiments and `validate`). */
export function connectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--driver <driver>', 'where the targets run')
        .choices(['local', 'kubernetes'])
        .env('CHAOSCTL_DRIVER')
        .default('kubernetes'),
    )
    .option(
      '--namespace <namespace>',
      `kubernetes namespace of the targets (default: the in-cluster pod's, the context's, or ${DEFAULT_NAMESPACE})`,
    )
    .option(
      '--context <context>',
      'kubeconfig context to act on (default: the current one; chaosctl prints which)',
    )
    .option(
      '--selector <selector...>',
      "label selector of the target's pods (equality or set-based), or <target>=<selector> for any target (default app.kubernetes.io/name=<target>)",
    )
    .option(
      '--kubeconfig <file>',
      'kubeconfig for the kubernetes driver (default: KUBECONFIG, ~/.kube/config or in-cluster)',
    )
    .option(
      '--url <url...>',
      'where traffic reaches a target: <target>=http://host:port, or http://host:port for where the traffic enters (default: its Service, in-cluster)',
    )
    .addOption(stateDirOption());
}

/** Options every experiment command takes. */
export function experimentOptions(command: Command): Command {
  // After a command's own options in --help: what every experiment command shares.
  return connectionOptions(command.optionsGroup('Common options:'))
    .addOption(
      new Option(
        '--backend <backend>',
        'who carries out the faults: auto = Chaos Mesh when its CRDs are served, else native Kubernetes (local with --driver local)',
      )
        .choices(['auto', 'local', 'kubernetes', 'chaos-mesh'])
        .default('auto'),
    )
    .option(
      '--netem-image <image>',
      'image of the network-delay agent (needs sh and tc) for the kubernetes backend',
      DEFAULT_AGENT_IMAGE,
    )
    .option(
      '--rps <n>',
      "requests per second of the suite's traffic (over the suite's rps when given)",
      numeric,
      50,
    )
    .option(
      '--warmup <duration>',
      'the baseline: traffic before the fault, after a warm-up of 1-5 s that no window counts',
      '3s',
    )
    .option('--cooldown <duration>', 'traffic after the fault', '3s')
    .option(
      '--retries <n>',
      "client retries of a request that got no answer, a 429 or a 5xx (idempotent ones only), as a real caller would (over the suite's when given)",
      numeric,
      0,
    )
    .option('--retry-backoff <duration>', 'wait before the first retry, doubled for each next one', '50ms')
    .option('--report-dir <dir>', 'where the JSON, JUnit and HTML reports go', 'reports')
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

/** The flags of one fault's thresholds; defaults are the spec's (shown in --help, applied by the runner). */
export function thresholdOptions(command: Command): Command {
  return command
    .option(
      '--sla <duration>',
      `recovery limit: capacity restored and user-facing recovery (default: ${DEFAULT_THRESHOLDS.recoverySla})`,
    )
    .option(
      '--max-error-rate <ratio>',
      `failed-request share allowed during the fault, 0-1 (default: ${DEFAULT_THRESHOLDS.maxErrorRate})`,
      numeric,
    )
    .option(
      '--max-p95 <duration>',
      `p95 latency allowed during the fault (default: ${DEFAULT_THRESHOLDS.maxP95})`,
    );
}

export interface ThresholdFlags {
  sla?: string;
  maxErrorRate?: number | string;
  maxP95?: string;
}

/** The thresholds the flags give, as given: the suite schema judges them. */
function thresholdsFrom(opts: ThresholdFlags): Thresholds {
  return {
    ...(opts.sla === undefined ? {} : { recoverySla: opts.sla }),
    ...(opts.maxErrorRate === undefined ? {} : { maxErrorRate: opts.maxErrorRate as number }),
    ...(opts.maxP95 === undefined ? {} : { maxP95: opts.maxP95 }),
  };
}

/**
 * A fault's command: --service, --workload and the fault's own flags first in --help, then the
 * thresholds, then the options every experiment command shares.
 */
export function faultCommand(fault: Fault): Command {
  const command = new Command(fault.name)
    .description(fault.summary)
    .optionsGroup('Target and fault:')
    .addOption(
      new Option(
        '--service <service>',
        "target: one of the suite's targets (chaosctl run-all --dry-run lists the built-in suite's), or any Service/workload name on Kubernetes",
      ).makeOptionMandatory(),
    )
    .option(
      '--suite <file>',
      "a suite file whose targets, traffic, probes and abort conditions the experiment runs with (default: the built-in demo shop's, for its three services)",
    )
    .addOption(
      new Option(
        '--workload <kind/name>',
        'the workload whose desired replicas define capacity: deployment/<name> or statefulset/<name> (default: found from the pods)',
      ),
    );
  return experimentOptions(thresholdOptions(fault.flags(command).optionsGroup('Thresholds:')));
}

export interface TargetFlags extends ThresholdFlags {
  service: string;
  workload?: string;
  selector?: string[];
}

/** The target part of a spec, from the flags: the service, its selector, its workload, its thresholds. */
export function targetFrom(opts: TargetFlags) {
  const { target } = parseSelectors(opts.selector ?? []);
  return {
    service: opts.service,
    ...(target ? { selector: target } : {}),
    ...(opts.workload ? { workload: opts.workload } : {}),
    thresholds: thresholdsFrom(opts),
  };
}

/** `--url http://x` (keyed '': where the traffic enters) or `--url <target>=http://y`, repeatable. */
export function parseUrls(values: string[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const value of values) {
    const [, service = '', url = ''] = /^(?:([a-z0-9-]+)=)?(.*)$/.exec(value) ?? [];
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      (service !== '' && !new RegExp(TARGET_NAME).test(service)) ||
      !parsed ||
      !/^https?:$/.test(parsed.protocol) ||
      !parsed.host
    ) {
      throw new UsageError(
        `--url must be http(s)://host:port or <target>=http(s)://host:port (got '${value}')`,
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

// chaosctl local up: the platform as local processes, in the background, once all are ready.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { DEFAULT_REPLICAS } from '../../drivers/local/defaults.js';
import { demoPlatform } from '../../drivers/local/demo-platform.js';
import { UsageError } from '../../errors.js';
import type { LocalRun } from '../../suite/schema.js';
import { positiveInt, stateDirOption } from '../options.js';

interface Flags {
  suite?: string;
  replicas?: number;
  basePort: number;
  seedStock?: number;
  stateDir: string;
}

export const command = () =>
  new Command('up')
    .description(
      "start every target (the demo platform's three services, or a v2 suite's targets with `run`) in the background; returns once all are ready",
    )
    .option('--suite <file>', "a suite file: run its targets' commands instead of the demo platform")
    .option(
      '--replicas <n>',
      `replicas per target (default: each target's own, else ${DEFAULT_REPLICAS})`,
      positiveInt('--replicas'),
    )
    .option(
      '--base-port <port>',
      "the first target's port (the demo: order-service); the next targets take the next ports, the control API base + 99",
      positiveInt('--base-port'),
      5000,
    )
    .option(
      '--seed-stock <n>',
      "units per product in the demo platform's fresh database",
      positiveInt('--seed-stock'),
    )
    .addOption(stateDirOption())
    .action(run);

export async function run(opts: Flags): Promise<void> {
  if (opts.suite && opts.seedStock !== undefined)
    throw new UsageError('--seed-stock is for the demo platform, not a suite file');
  const targets = opts.suite ? await suiteTargets(opts.suite) : demoPlatform({ seedStock: opts.seedStock });
  if (opts.replicas !== undefined)
    for (const target of Object.values(targets)) target.replicas = opts.replicas;
  const { localUp } = await import('../../drivers/local/platform.js');
  const state = await localUp({ stateDir: opts.stateDir, targets, basePort: opts.basePort });
  const urls = Object.keys(targets).map((name, i) => `${name} http://127.0.0.1:${opts.basePort + i}`);
  const counts = Object.entries(targets).map(
    ([name, target]) => [name, target.replicas ?? DEFAULT_REPLICAS] as const,
  );
  const first = counts[0]?.[1] ?? DEFAULT_REPLICAS;
  const replicas = counts.every(([, n]) => n === first)
    ? `${first} replica${first === 1 ? '' : 's'} each`
    : `replicas: ${counts.map(([name, n]) => `${name} ${n}`).join(', ')}`;
  process.stdout.write(`local platform up (supervisor pid ${state.pid}): ${urls.join(', ')}, ${replicas}\n`);
}

/** The targets with `run` of a suite file, each `cwd` resolved against the file's directory. */
async function suiteTargets(file: string): Promise<Record<string, LocalRun & { cwd: string }>> {
  const { loadSuite } = await import('../../suite/load.js');
  const suite = loadSuite(file);
  const runs = Object.entries(suite.targets).flatMap(([name, { run }]) =>
    run ? [[name, { ...run, cwd: resolve(suite.dir, run.cwd ?? '.') }] as const] : [],
  );
  if (runs.length === 0) throw new UsageError(`${file}: no target has a run command for the local platform`);
  return Object.fromEntries(runs);
}

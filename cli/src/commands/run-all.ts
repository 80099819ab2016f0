// chaosctl run-all: every experiment of a suite file, one after another, into one report.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { loadSuite } from '../experiments/suite.js';
import { experimentOptions, parseSelectors } from './options.js';
import { type CommonOptions, runExperiments } from './run-experiments.js';

const DEFAULT_SUITE = resolve(import.meta.dirname, '../../suites/default.yaml');

type Flags = CommonOptions & { suite: string; sla?: string };

export const command = () =>
  experimentOptions(
    new Command('run-all')
      .description('run every experiment of a suite, one after another, into one report')
      .option('--suite <file>', 'suite YAML', DEFAULT_SUITE)
      .option(
        '--sla <duration>',
        "override every experiment's recovery limit (capacity restored, user-facing recovery)",
      ),
  ).action((opts: Flags, command: Command) =>
    // Suite values apply unless the flag was given explicitly.
    run(opts, (name) => ['cli', 'env'].includes(command.getOptionValueSource(name) as string)),
  );

export async function run(opts: Flags, given: (option: string) => boolean): Promise<void> {
  const suite = loadSuite(opts.suite);
  if (parseSelectors(opts.selector ?? []).target)
    throw new UsageError('run-all has several targets: give --selector as <service>=<selector>');
  const specs = suite.experiments.map((spec) =>
    opts.sla === undefined ? spec : { ...spec, thresholds: { ...spec.thresholds, recoverySla: opts.sla } },
  );
  await runExperiments(specs, {
    ...opts,
    rps: given('rps') ? opts.rps : (suite.rps ?? opts.rps),
    warmup: given('warmup') ? opts.warmup : (suite.warmup ?? opts.warmup),
    cooldown: given('cooldown') ? opts.cooldown : (suite.cooldown ?? opts.cooldown),
    retries: given('retries') ? opts.retries : (suite.retries ?? opts.retries),
    retryBackoff: given('retryBackoff') ? opts.retryBackoff : (suite.retryBackoff ?? opts.retryBackoff),
  });
}

// chaosctl run-all: every experiment of a suite file, one after another, into one report.
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { BUILT_IN_SUITE } from '../suite/built-in.js';
import { experimentOptions, parseSelectors } from './options.js';
import type { CommonOptions } from './run-experiments.js';

type Flags = CommonOptions & { suite: string; sla?: string };

export const command = () =>
  experimentOptions(
    new Command('run-all')
      .description('run every experiment of a suite, one after another, into one report')
      .option('--suite <file>', 'suite YAML (version 2, or 1)', BUILT_IN_SUITE)
      .option(
        '--sla <duration>',
        "override every experiment's recovery limit (capacity restored, user-facing recovery, probes held again)",
      ),
  ).action((opts: Flags, command: Command) =>
    // Suite values apply unless the flag was given explicitly.
    run(opts, (name) => ['cli', 'env'].includes(command.getOptionValueSource(name) as string)),
  );

export async function run(opts: Flags, given: (option: string) => boolean): Promise<void> {
  // Loaded on run, not for --help (see fault.ts).
  const [{ loadSuite }, { runExperiments }, { amendTargets }] = await Promise.all([
    import('../suite/load.js'),
    import('./run-experiments.js'),
    import('./suite-flags.js'),
  ]);
  if (parseSelectors(opts.selector ?? []).target)
    throw new UsageError('run-all has several targets: give --selector as <target>=<selector>');
  const suite = amendTargets(loadSuite(opts.suite), opts);
  const experiments = suite.experiments.map((spec) =>
    opts.sla === undefined ? spec : { ...spec, thresholds: { ...spec.thresholds, recoverySla: opts.sla } },
  );
  await runExperiments({ ...suite, experiments }, opts, given);
}

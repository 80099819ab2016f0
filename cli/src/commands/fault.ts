// One command per fault (chaosctl pod-kill, network-delay, ...), made from the fault's own flags:
// the target, the thresholds and the run's options are common.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ExperimentSpec } from '../experiments/spec.js';
import type { Fault } from '../faults/fault.js';
import { faultCommand, flagOf, type TargetFlags, targetFrom } from './options.js';
import type { CommonOptions } from './run-experiments.js';

type Flags = CommonOptions & TargetFlags & { suite?: string } & Record<string, unknown>;

export const command = (fault: Fault) =>
  faultCommand(fault).action((flags: Flags, command: Command) =>
    run(fault, flags, (name) => ['cli', 'env'].includes(command.getOptionValueSource(name) as string)),
  );

export async function run(fault: Fault, flags: Flags, given: (option: string) => boolean) {
  // Loaded on run, not for --help: the schema checks, the suite and the runner are most of start-up.
  const [
    { V1_UNIONS },
    { problemOf },
    { SuiteV1Schema },
    { runExperiments },
    { amendTargets, suiteForExperiment },
  ] = await Promise.all([
    import('../suite/load.js'),
    import('../suite/problems.js'),
    import('../suite/upgrade.js'),
    import('./run-experiments.js'),
    import('./suite-flags.js'),
  ]);
  const spec = { type: fault.name, ...targetFrom(flags), ...fault.fromFlags(flags) };
  // The spec is as the flags gave it: checked against its fault's schema first, refused by flag.
  const problem = problemOf(SuiteV1Schema, { version: 1, experiments: [spec] }, V1_UNIONS);
  if (problem) throw new UsageError(`${flagOf(problem.path)} ${problem.message}`);
  if (flags.driver === 'local' && (flags.workload || flags.selector?.length))
    throw new UsageError(
      '--selector and --workload need the kubernetes driver: a local target is found by its name',
    );
  const suite = amendTargets(suiteForExperiment(spec as ExperimentSpec, flags.suite), flags);
  await runExperiments(suite, flags, given);
}

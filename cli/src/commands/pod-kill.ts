// chaosctl pod-kill: replicas of a service die at once; recovery is the platform's.
import { Option } from 'commander';
import { faultCommand, numeric, type TargetFlags, targetFrom } from './options.js';
import { type CommonOptions, runExperiments } from './run-experiments.js';

type Flags = CommonOptions &
  TargetFlags & {
    count: number;
    all: boolean;
    mode: 'delete' | 'evict';
    gracePeriod?: number;
    seed?: number;
  };

export const command = () =>
  faultCommand('pod-kill', 'kill replicas of a service and measure recovery')
    .option('--count <n>', 'replicas to kill', numeric, 1)
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
      numeric,
    )
    .option('--seed <n>', 'seed of the random victim choice, to repeat a run', numeric)
    .action(run);

export async function run(opts: Flags): Promise<void> {
  await runExperiments(
    [
      {
        type: 'pod-kill',
        ...targetFrom(opts),
        count: opts.all ? 'all' : opts.count,
        mode: opts.mode,
        ...(opts.gracePeriod === undefined ? {} : { gracePeriodSeconds: opts.gracePeriod }),
        ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      },
    ],
    opts,
  );
}

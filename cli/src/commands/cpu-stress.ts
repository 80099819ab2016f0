// chaosctl cpu-stress: burners compete with the target for its CPU for a while.
import { DEFAULT_WORKERS } from '../faults/cpu-stress.js';
import { faultCommand, numeric, type TargetFlags, targetFrom } from './options.js';
import { type CommonOptions, runExperiments } from './run-experiments.js';

type Flags = CommonOptions & TargetFlags & { workers: number; duration: string };

export const command = () =>
  faultCommand('cpu-stress', "burn CPU in a service's containers for a while")
    .option('--workers <n>', 'CPU burners', numeric, DEFAULT_WORKERS)
    .option('--duration <duration>', 'how long the burn lasts', '30s')
    .action(run);

export async function run(opts: Flags): Promise<void> {
  await runExperiments(
    [{ type: 'cpu-stress', ...targetFrom(opts), workers: opts.workers, duration: opts.duration }],
    opts,
  );
}

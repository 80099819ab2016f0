// chaosctl network-delay: the target answers its callers late for a while.

import { faultCommand, type TargetFlags, targetFrom } from './options.js';
import { type CommonOptions, runExperiments } from './run-experiments.js';

type Flags = CommonOptions &
  TargetFlags & { latency: string; jitter: string; duration: string; callers?: string[] };

export const command = () =>
  faultCommand('network-delay', 'add latency in front of a service for a while')
    .requiredOption('--latency <duration>', 'added latency, e.g. 300ms')
    .option('--jitter <duration>', 'random variation of the latency', '0ms')
    .option('--duration <duration>', 'how long the latency stays', '30s')
    .option(
      '--callers <service...>',
      "services whose traffic to the target is delayed (default: the target's callers on the platform)",
    )
    .action(run);

export async function run(opts: Flags): Promise<void> {
  await runExperiments(
    [
      {
        type: 'network-delay',
        ...targetFrom(opts),
        ...(opts.callers ? { callers: opts.callers } : {}),
        latency: opts.latency,
        jitter: opts.jitter,
        duration: opts.duration,
      },
    ],
    opts,
  );
}

// memory-stress: memory held inside the target container's cgroup, a size or a share of its
// limit, for a while. The evidence is an observed effect: the cgroup's memory usage, or an OOM kill
// reported as such. Timed: recovery is measured from its removal.
import { formatMs, parseDuration } from '../../experiments/duration.js';
import { numeric } from '../../experiments/fields.js';
import { backends, defineFault } from '../fault.js';
import { amountOf, schema } from './spec.js';

export const memoryStress = defineFault({
  name: 'memory-stress',
  summary: "hold memory in a service's containers for a while",
  schema,
  kind: 'timed',
  recovery:
    'users served as before after the memory is released (an OOM-killed container running and Ready again)',
  flags: (command) =>
    command
      .option(
        '--size <size>',
        'memory to hold in each target container, e.g. 256MB or 512Mi (default: 256MB)',
      )
      .option('--share <ratio>', "or a share of the container's memory limit, e.g. 0.8 (Kubernetes)", numeric)
      .option('--duration <duration>', 'how long the memory is held', '30s')
      .option(
        '--container <name>',
        'the container (default: the one named like the service, else the first)',
      ),
  fromFlags: (flags) => ({
    duration: flags.duration as string,
    ...(flags.size === undefined ? {} : { size: flags.size as string }),
    ...(flags.share === undefined ? {} : { share: flags.share as number }),
    ...(flags.container === undefined ? {} : { container: flags.container as string }),
  }),
  durationMs: (spec) => parseDuration(spec.duration),
  describe: (spec) =>
    `hold ${amountOf(spec)} in ${spec.service} for ${formatMs(parseDuration(spec.duration))}`,
  admit: (spec) =>
    spec.size !== undefined && spec.share !== undefined ? 'give a size or a share, not both' : undefined,
  backends: backends(
    {
      local: 'a process holding the memory beside the replicas (no container cgroups locally)',
      kubernetes: "a `node` holder exec'd **in** the target container, evidence from its cgroup",
      'chaos-mesh': {
        how: 'a `StressChaos` with a memory stressor in the target container',
        chaosMesh: 'StressChaos',
      },
    },
    {
      local: () => import('./local.js'),
      kubernetes: () => import('./kubernetes.js'),
      'chaos-mesh': () => import('./chaos-mesh.js'),
    },
  ),
});

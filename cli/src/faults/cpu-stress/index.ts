// cpu-stress: CPU burners compete with the target for its CPU (inside its container on
// Kubernetes, so its own limit is consumed). Timed: recovery is measured from its removal.
import { formatMs, parseDuration } from '../../experiments/duration.js';
import { numeric } from '../../experiments/fields.js';
import { backends, defineFault } from '../fault.js';
import { DEFAULT_WORKERS, schema } from './spec.js';

export const cpuStress = defineFault({
  name: 'cpu-stress',
  summary: "burn CPU in a service's containers for a while",
  schema,
  kind: 'timed',
  recovery: 'users served as before (errors ended, latency back in its band) after the burners stop',
  flags: (command) =>
    command
      .option('--workers <n>', 'CPU burners', numeric, DEFAULT_WORKERS)
      .option('--duration <duration>', 'how long the burn lasts', '30s'),
  fromFlags: (flags) => ({ workers: flags.workers as number, duration: flags.duration as string }),
  durationMs: (spec) => parseDuration(spec.duration),
  describe: (spec) =>
    `${spec.workers ?? DEFAULT_WORKERS} CPU burners in ${spec.service} for ${formatMs(parseDuration(spec.duration))}`,
  backends: backends(
    {
      local: 'burner processes on the same cores',
      kubernetes: "busy-loops exec'd **in** the target container",
      'chaos-mesh': { how: 'a `StressChaos` in the target container', chaosMesh: 'StressChaos' },
    },
    {
      local: () => import('./local.js'),
      kubernetes: () => import('./kubernetes.js'),
      'chaos-mesh': () => import('./chaos-mesh.js'),
    },
  ),
});

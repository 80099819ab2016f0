// network-delay: the target answers its callers late for a while. Timed: recovery is measured from
// its removal.
import { formatMs, parseDuration } from '../../experiments/duration.js';
import { backends, defineFault } from '../fault.js';
import { delayOf, schema } from './spec.js';

export const networkDelay = defineFault({
  name: 'network-delay',
  summary: 'add latency in front of a service for a while',
  schema,
  kind: 'timed',
  recovery: 'users served as before (errors ended, latency back in its band) after the delay is removed',
  flags: (command) =>
    command
      .requiredOption('--latency <duration>', 'added latency, e.g. 300ms')
      .option('--jitter <duration>', 'random variation of the latency', '0ms')
      .option('--duration <duration>', 'how long the latency stays', '30s')
      .option(
        '--callers <service...>',
        "services whose traffic to the target is delayed (default: the target's callers on the platform)",
      ),
  fromFlags: (flags) => ({
    latency: flags.latency as string,
    jitter: flags.jitter as string,
    duration: flags.duration as string,
    ...(flags.callers ? { callers: flags.callers as string[] } : {}),
  }),
  durationMs: (spec) => parseDuration(spec.duration),
  describe: (spec) => {
    const { latencyMs, jitterMs } = delayOf(spec);
    return `${latencyMs} ms ± ${jitterMs} ms in front of ${spec.service} for ${formatMs(parseDuration(spec.duration))}`;
  },
  backends: backends(
    {
      local: "the supervisor's delaying relay on the service's port",
      kubernetes: 'an agent ephemeral container with netem, scoped to the callers',
      'chaos-mesh': { how: 'a `NetworkChaos` scoped to the callers', chaosMesh: 'NetworkChaos' },
    },
    {
      local: () => import('./local.js'),
      kubernetes: () => import('./kubernetes.js'),
      'chaos-mesh': () => import('./chaos-mesh.js'),
    },
  ),
});

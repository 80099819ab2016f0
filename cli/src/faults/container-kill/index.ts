// container-kill: the main process of the target container dies in some replicas, and is restarted
// in place: on Kubernetes the kubelet restarts the container (restartCount rises, the pod keeps its
// name, UID and IP); locally the supervisor restarts the replica's process in its slot. A
// disruption: recovery is the container running and Ready again, and users served as before.
import { numeric } from '../../experiments/fields.js';
import { backends, defineFault } from '../fault.js';
import { schema } from './spec.js';

export const containerKill = defineFault({
  name: 'container-kill',
  summary: "kill the main process of a service's container and measure its restart in place",
  schema,
  kind: 'disruption',
  recovery: 'the container running and Ready again in the same pod (restartCount up), users served as before',
  flags: (command) =>
    command
      .option('--count <n>', 'replicas whose container is killed', numeric, 1)
      .option('--container <name>', 'the container (default: the one named like the service, else the first)')
      .option('--seed <n>', 'seed of the random choice of replicas, to repeat a run', numeric),
  fromFlags: (flags) => ({
    count: flags.count as number,
    ...(flags.container === undefined ? {} : { container: flags.container as string }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed as number }),
  }),
  durationMs: () => 0,
  describe: (spec) =>
    `kill the main process of ${spec.count ?? 1} ${spec.service} container(s), restarted in place`,
  admit: (spec, ready, allowOutage) => {
    const count = spec.count ?? 1;
    if (count > ready) return `count ${count} is more than the ${ready} ready ${spec.service} replicas`;
    if (count >= ready && !allowOutage)
      return `refusing to kill the container of ${count} of ${ready} ready ${spec.service} replicas: that is an outage (pass --allow-outage to do it anyway)`;
    return undefined;
  },
  backends: backends(
    {
      local: "SIGKILL to the replica's process, restarted in its slot",
      kubernetes: "`kill 1` exec'd in the target container; the kubelet restarts it",
      'chaos-mesh': { how: 'a `PodChaos` with `action: container-kill`', chaosMesh: 'PodChaos' },
    },
    {
      local: () => import('./local.js'),
      kubernetes: () => import('./kubernetes.js'),
      'chaos-mesh': () => import('./chaos-mesh.js'),
    },
  ),
});

// pod-kill: replicas of the target die at once (deleted, evicted, or crashed with grace 0). It is
// a disruption: recovery is the platform's (old replicas terminated, capacity restored, users
// served again), measured from the kill.
import { Option } from 'commander';
import { numeric } from '../../experiments/fields.js';
import { backends, defineFault } from '../fault.js';
import { schema, victimCount } from './spec.js';

export const podKill = defineFault({
  name: 'pod-kill',
  summary: 'kill replicas of a service and measure recovery',
  schema,
  kind: 'disruption',
  recovery: 'the victims gone, the workload at its desired ready replicas again, users served as before',
  flags: (command) =>
    command
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
      .option('--seed <n>', 'seed of the random victim choice, to repeat a run', numeric),
  fromFlags: (flags) => ({
    count: (flags.all ? 'all' : flags.count) as number | 'all',
    mode: flags.mode as 'delete' | 'evict',
    ...(flags.gracePeriod === undefined ? {} : { gracePeriodSeconds: flags.gracePeriod as number }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed as number }),
  }),
  durationMs: () => 0,
  describe: (spec) => {
    const count = spec.count === 'all' ? 'every' : String(spec.count ?? 1);
    const how = spec.mode === 'evict' ? 'evict' : 'kill';
    const grace = spec.gracePeriodSeconds === undefined ? '' : `, grace ${spec.gracePeriodSeconds} s`;
    return `${how} ${count} ${spec.service} replica${count === '1' ? '' : 's'}${grace}`;
  },
  admit: (spec, ready, allowOutage) => {
    const count = victimCount(spec, ready);
    if (count > ready)
      return `count ${count} is more than the ${ready} ready ${spec.service} replicas (--all takes every one)`;
    if (count >= ready && !allowOutage)
      return `refusing to kill ${count} of ${ready} ready ${spec.service} replicas: that is an outage (pass --allow-outage to do it anyway)`;
    return undefined;
  },
  backends: backends(
    {
      local: 'SIGKILL (or SIGTERM, then SIGKILL after `--grace-period`)',
      kubernetes: 'DELETE with a UID precondition, or the Eviction API with `--mode evict`',
      'chaos-mesh': 'as native (victims and successors followed by UID)',
    },
    // Through Chaos Mesh too, pod-kill is the native one: victims and successors followed by UID.
    {
      local: () => import('./local.js'),
      kubernetes: () => import('./kubernetes.js'),
      'chaos-mesh': () => import('./kubernetes.js'),
    },
  ),
});

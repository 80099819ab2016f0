// pod-kill: replicas of the target die at once (deleted, evicted, or crashed with grace 0). It is
// a disruption: recovery is the platform's (old replicas terminated, capacity restored, users
// served again), measured from the kill.
import type { SpecOf } from '../experiments/spec.js';
import { prng } from '../prng.js';
import type { FaultModule } from './fault.js';

export const podKill: FaultModule<'pod-kill'> = {
  type: 'pod-kill',
  kind: 'disruption',
  durationMs: () => 0,
  describe: (spec) => {
    const count = spec.count === 'all' ? 'every' : String(spec.count ?? 1);
    const how = spec.mode === 'evict' ? 'evict' : 'kill';
    const grace = spec.gracePeriodSeconds === undefined ? '' : `, grace ${spec.gracePeriodSeconds} s`;
    return `${how} ${count} ${spec.service} replica${count === '1' ? '' : 's'}${grace}`;
  },
};

/** How many replicas a pod-kill takes out of `ready`: `--count`, `all` of them, or one. */
export const victimCount = (spec: SpecOf<'pod-kill'>, ready: number): number =>
  spec.count === 'all' ? ready : (spec.count ?? 1);

/** `count` victims chosen at random among candidates (sorted by name first, so a seed is reproducible). */
export function pickVictims<T extends { name: string }>(
  candidates: readonly T[],
  count: number,
  seed: number,
): T[] {
  const random = prng(seed);
  const pool = [...candidates].sort((a, b) => a.name.localeCompare(b.name));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, count);
}

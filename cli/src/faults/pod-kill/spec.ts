// pod-kill's experiment: how many replicas die, how, and which (a seeded random choice).
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { experimentSchema } from '../../experiments/fields.js';

export const schema = experimentSchema('pod-kill', {
  count: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Literal('all')])),
  /** delete: DELETE the pod (bypasses PodDisruptionBudgets); evict: the Eviction API (honours them). */
  mode: Type.Optional(Type.Union([Type.Literal('delete'), Type.Literal('evict')])),
  /** Seconds the victim gets to shut down; 0 is a crash. Default: the pod's own grace period. */
  gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
  /** Seed of the random victim choice, for a reproducible run. */
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
});

export type PodKillSpec = Static<typeof schema>;

/** How many replicas a pod-kill takes out of `ready`: `--count`, `all` of them, or one. */
export const victimCount = (spec: PodKillSpec, ready: number): number =>
  spec.count === 'all' ? ready : (spec.count ?? 1);

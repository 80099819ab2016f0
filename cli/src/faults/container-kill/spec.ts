// container-kill's experiment: in how many replicas the container's main process dies, and which.
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { experimentSchema, KubeName } from '../../experiments/fields.js';

export const schema = experimentSchema('container-kill', {
  count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  /** The container whose main process dies (default: the one named like the service, else the pod's first). */
  container: Type.Optional(KubeName()),
  /** Seed of the random choice of replicas, for a reproducible run. */
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
});

export type ContainerKillSpec = Static<typeof schema>;

export const seedOf = (spec: ContainerKillSpec) => spec.seed ?? Math.floor(Math.random() * 2 ** 32);

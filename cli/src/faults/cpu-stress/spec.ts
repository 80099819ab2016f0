// cpu-stress's experiment: how many burners, for how long.
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { Duration, experimentSchema } from '../../experiments/fields.js';

export const DEFAULT_WORKERS = 2;

export const schema = experimentSchema('cpu-stress', {
  workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  duration: Duration({ nonZero: 'a fault that lasts no time breaks nothing' }),
});

export type CpuStressSpec = Static<typeof schema>;

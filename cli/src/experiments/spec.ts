// What an experiment is, as flags and suite files both describe it. One schema validates both.
import { type Static, Type } from 'typebox';
import { parseDuration } from './duration.js';

const Duration = Type.Union([
  Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m)$' }),
  Type.Integer({ minimum: 0 }),
]);
const Service = Type.Union([
  Type.Literal('order-service'),
  Type.Literal('inventory-service'),
  Type.Literal('notification-service'),
]);

export const ThresholdsSchema = Type.Object(
  {
    /** Fault injected -> every replica ready and requests succeeding again. */
    recoverySla: Type.Optional(Duration),
    /** Share of requests that failed (5xx or no answer) while the fault was on. */
    maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** p95 latency while the fault was on. */
    maxP95: Type.Optional(Duration),
    /** Every acknowledged order readable, stock conserved. */
    integrity: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const common = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  service: Service,
  thresholds: Type.Optional(ThresholdsSchema),
};

export const ExperimentSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('pod-kill'),
      ...common,
      count: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Literal('all')])),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('network-delay'),
      ...common,
      latency: Duration,
      jitter: Type.Optional(Duration),
      duration: Duration,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('cpu-stress'),
      ...common,
      workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
      duration: Duration,
    },
    { additionalProperties: false },
  ),
]);

export const SuiteSchema = Type.Object(
  {
    version: Type.Literal(1),
    /** Requests per second of order traffic during every experiment. */
    rps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 5000 })),
    /** Traffic before the fault (the baseline) and after it. */
    warmup: Type.Optional(Duration),
    cooldown: Type.Optional(Duration),
    experiments: Type.Array(ExperimentSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ExperimentSpec = Static<typeof ExperimentSchema>;
export type Suite = Static<typeof SuiteSchema>;
export type Thresholds = Static<typeof ThresholdsSchema>;

/** Rejects what the schema cannot: durations that do not parse (flags arrive as free text). */
export function checkSpec(spec: ExperimentSpec): void {
  if ('latency' in spec) parseDuration(spec.latency, '--latency');
  if ('jitter' in spec && spec.jitter !== undefined) parseDuration(spec.jitter, '--jitter');
  if ('duration' in spec) parseDuration(spec.duration, '--duration');
  if (spec.thresholds?.recoverySla !== undefined) parseDuration(spec.thresholds.recoverySla, '--sla');
  if (spec.thresholds?.maxP95 !== undefined) parseDuration(spec.thresholds.maxP95, '--max-p95');
}

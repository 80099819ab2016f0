// What an experiment is, as flags and suite files both describe it. One schema validates both.
// Targets are data: any workload in the namespace can be a target (the three platform services are
// only the defaults), found by a label selector or by its Deployment / StatefulSet.
import { type Static, Type } from 'typebox';
import { UsageError } from '../errors.js';
import { parseDuration } from './duration.js';

const Duration = Type.Union([
  Type.String({ pattern: '^\\d+(\\.\\d+)?(ms|s|m)$' }),
  Type.Integer({ minimum: 0 }),
]);

/** Client retries per order: enough to ride out a replica's death, bounded like a real client's. */
export const MAX_RETRIES = 10;
/** The longest first wait before a retry: doubled up to ten times, more would hold a run for hours. */
export const MAX_RETRY_BACKOFF_MS = 5000;

/** A DNS-1123 label, as Kubernetes names Services and workloads. */
export const TARGET_NAME = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

/** The limits an experiment is held to unless its spec (or a flag) says otherwise. */
export const DEFAULT_THRESHOLDS = {
  recoverySla: '30s',
  maxErrorRate: 0.05,
  maxP95: '2s',
  integrity: true,
} as const;

export const ThresholdsSchema = Type.Object(
  {
    /** Gates recovery: capacity restored and user-facing recovery (see docs/chaosctl.md). */
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
  /** The target: a service name (its Service and, by default, its pods labelled app.kubernetes.io/name=<service>). */
  service: Type.String({ pattern: TARGET_NAME }),
  /** Label selector of the target's pods, equality or set-based (overrides the default). */
  selector: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  /** The workload that owns the target's pods: deployment/<name> or statefulset/<name>. */
  workload: Type.Optional(
    Type.String({ pattern: '^(deployment|statefulset)/[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
  ),
  thresholds: Type.Optional(ThresholdsSchema),
};

export const ExperimentSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('pod-kill'),
      ...common,
      count: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Literal('all')])),
      /** delete: DELETE the pod (bypasses PodDisruptionBudgets); evict: the Eviction API (honours them). */
      mode: Type.Optional(Type.Union([Type.Literal('delete'), Type.Literal('evict')])),
      /** Seconds the victim gets to shut down; 0 is a crash. Default: the pod's own grace period. */
      gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
      /** Seed of the random victim choice, for a reproducible run. */
      seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
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
      /** Services whose traffic to the target is delayed (default: the target's callers on the platform). */
      callers: Type.Optional(
        Type.Array(Type.String({ pattern: TARGET_NAME }), { minItems: 1, maxItems: 20 }),
      ),
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
    /** Client retries of an order that got no answer, a 429 or a 5xx, with the same Idempotency-Key. */
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRIES })),
    /** Wait before the first retry, doubled for each next one. */
    retryBackoff: Type.Optional(Duration),
    experiments: Type.Array(ExperimentSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ExperimentSpec = Static<typeof ExperimentSchema>;
export type FaultType = ExperimentSpec['type'];
export type SpecOf<T extends FaultType> = Extract<ExperimentSpec, { type: T }>;
export type Suite = Static<typeof SuiteSchema>;
export type Thresholds = Static<typeof ThresholdsSchema>;

/**
 * Rejects what the schema cannot: durations that do not parse (flags arrive as free text), and
 * faults of zero size or zero duration, which would "pass" without breaking anything.
 */
export function checkSpec(spec: ExperimentSpec): void {
  if (spec.type === 'network-delay') {
    if (parseDuration(spec.latency, '--latency') === 0)
      throw new UsageError('--latency must be more than 0ms: a zero delay breaks nothing');
    if (spec.jitter !== undefined) parseDuration(spec.jitter, '--jitter');
  }
  if ('duration' in spec && parseDuration(spec.duration, '--duration') === 0)
    throw new UsageError(
      `--duration of ${spec.type} must be more than 0s: a fault that lasts no time breaks nothing`,
    );
  if (spec.thresholds?.recoverySla !== undefined) parseDuration(spec.thresholds.recoverySla, '--sla');
  if (spec.thresholds?.maxP95 !== undefined) parseDuration(spec.thresholds.maxP95, '--max-p95');
}

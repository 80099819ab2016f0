// What an experiment is, as flags and suite files both describe it. One schema validates both.
// Targets are data: any workload in the namespace can be a target (the three platform services are
// only the defaults), found by a label selector or by its Deployment / StatefulSet.
import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { MAX_RPS } from '../traffic/load.js';
import { durationProblem, formatMs, parseDuration, shown } from './duration.js';

/**
 * A duration: text (300ms, 30s, 2m, 1h) or a number of milliseconds. Its syntax and its bound (the
 * longest timer Node holds) are checked by problemOf, with one message for flags and files alike;
 * `nonZero` says why zero is refused where a zero duration would break nothing.
 */
const Duration = (rules: { nonZero?: string; maxMs?: number } = {}) =>
  Type.Union([Type.String(), Type.Number()], { 'x-duration': rules });

/** Client retries per order: enough to ride out a replica's death, bounded like a real client's. */
export const MAX_RETRIES = 10;
/** The longest first wait before a retry: doubled up to ten times, more would hold a run for hours. */
export const MAX_RETRY_BACKOFF_MS = 5000;

/** A DNS-1123 label, as Kubernetes names Services and workloads. */
export const TARGET_NAME = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const WORKLOAD = '^(deployment|statefulset)/[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

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
    recoverySla: Type.Optional(Duration()),
    /** Share of requests that failed (5xx or no answer) while the fault was on. */
    maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** p95 latency while the fault was on. */
    maxP95: Type.Optional(Duration()),
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
  workload: Type.Optional(Type.String({ pattern: WORKLOAD })),
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
      latency: Duration({ nonZero: 'a zero delay breaks nothing' }),
      jitter: Type.Optional(Duration()),
      duration: Duration({ nonZero: 'a fault that lasts no time breaks nothing' }),
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
      duration: Duration({ nonZero: 'a fault that lasts no time breaks nothing' }),
    },
    { additionalProperties: false },
  ),
]);

export const SuiteSchema = Type.Object(
  {
    version: Type.Literal(1),
    /** Requests per second of order traffic during every experiment. */
    rps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_RPS })),
    /** Traffic before the fault (the baseline) and after it. */
    warmup: Type.Optional(Duration()),
    cooldown: Type.Optional(Duration()),
    /** Client retries of an order that got no answer, a 429 or a 5xx, with the same Idempotency-Key. */
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRIES })),
    /** Wait before the first retry, doubled for each next one. */
    retryBackoff: Type.Optional(Duration({ maxMs: MAX_RETRY_BACKOFF_MS })),
    experiments: Type.Array(ExperimentSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ExperimentSpec = Static<typeof ExperimentSchema>;
export type FaultType = ExperimentSpec['type'];
export const FAULT_TYPES = ExperimentSchema.anyOf.map((variant) => variant.properties.type.const);
export type SpecOf<T extends FaultType> = Extract<ExperimentSpec, { type: T }>;
export type Suite = Static<typeof SuiteSchema>;
export type Thresholds = Static<typeof ThresholdsSchema>;

/** What is wrong with a suite, at which field: flags are checked as the suite they make. */
export interface Problem {
  path: Array<string | number>;
  message: string;
}

/** What a pattern means, for the message that refuses a value. */
const PATTERNS: Record<string, string> = {
  [TARGET_NAME]: 'a Kubernetes name such as order-service',
  [WORKLOAD]: 'deployment/<name> or statefulset/<name>',
};

/** The first problem of a suite, or undefined when it is valid: experiments first, each against its own type. */
export function problemOf(suite: unknown): Problem | undefined {
  const experiments = (suite as { experiments?: unknown })?.experiments;
  if (Array.isArray(experiments)) {
    for (const [index, experiment] of experiments.entries()) {
      const type = (experiment as { type?: unknown })?.type;
      const variant = ExperimentSchema.anyOf.find((candidate) => candidate.properties.type.const === type);
      if (!variant)
        return {
          path: ['experiments', index, 'type'],
          message: `must be one of ${FAULT_TYPES.join(', ')} (got ${shown(type)})`,
        };
      const problem = firstProblem(variant, experiment);
      if (problem) return { ...problem, path: ['experiments', index, ...problem.path] };
    }
  }
  return firstProblem(SuiteSchema, suite);
}

function firstProblem(schema: TSchema, value: unknown): Problem | undefined {
  const [error] = Value.Errors(schema, value).filter(
    (e) => e.keyword !== 'boolean' && !e.instancePath.startsWith('/experiments/'),
  );
  if (error) {
    const path = error.instancePath.split('/').filter(Boolean);
    const params = error.params as Record<string, unknown>;
    const unknown = params.additionalProperties as string[] | undefined;
    if (unknown) return { path, message: `has an unknown field: ${unknown.join(', ')}` };
    const pattern = PATTERNS[String(params.pattern)];
    const got = shown(valueAt(value, path));
    return { path, message: `${pattern ? `must be ${pattern}` : error.message} (got ${got})` };
  }
  return durationProblemIn(schema, value, []);
}

/** Durations are free text to the schema: their syntax, bound and non-zero rule are checked here. */
function durationProblemIn(schema: TSchema, value: unknown, path: string[]): Problem | undefined {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!properties || typeof value !== 'object' || value === null) return undefined;
  for (const [key, field] of Object.entries(properties)) {
    const given = (value as Record<string, unknown>)[key];
    if (given === undefined) continue;
    const rules = (field as { 'x-duration'?: { nonZero?: string; maxMs?: number } })['x-duration'];
    if (!rules) {
      const problem = durationProblemIn(field, given, [...path, key]);
      if (problem) return problem;
      continue;
    }
    const problem = durationProblem(given);
    if (problem) return { path: [...path, key], message: problem };
    const ms = parseDuration(given as string | number);
    if (rules.nonZero && ms === 0)
      return { path: [...path, key], message: `must be more than 0: ${rules.nonZero}` };
    if (rules.maxMs !== undefined && ms > rules.maxMs)
      return {
        path: [...path, key],
        message: `must be at most ${formatMs(rules.maxMs)} (got ${shown(given)})`,
      };
  }
  return undefined;
}

const valueAt = (value: unknown, path: string[]) =>
  path.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], value);

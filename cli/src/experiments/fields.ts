// The parts of an experiment's schema every fault shares: its target, its thresholds, durations.
import { type TProperties, Type } from 'typebox';

/**
 * A duration: text (300ms, 30s, 2m, 1h) or a number of milliseconds. Its syntax and its bound (the
 * longest timer Node holds) are checked by problemOf, with one message for flags and files alike;
 * `nonZero` says why zero is refused where a zero duration would break nothing.
 */
export const Duration = (rules: { nonZero?: string; maxMs?: number } = {}) =>
  Type.Union([Type.String(), Type.Number()], { 'x-duration': rules });

/** Client retries per order: enough to ride out a replica's death, bounded like a real client's. */
export const MAX_RETRIES = 10;
/** The longest first wait before a retry: doubled up to ten times, more would hold a run for hours. */
export const MAX_RETRY_BACKOFF_MS = 5000;

/** A DNS-1123 label, as Kubernetes names Services and workloads. */
export const TARGET_NAME = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
const WORKLOAD = '^(deployment|statefulset)/[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** Text of a pattern; `meaning` is what a refusal says it must be. */
export const Text = (pattern: string, meaning: string) => Type.String({ pattern, 'x-meaning': meaning });

/** A Service, workload or container name. */
export const KubeName = () => Text(TARGET_NAME, 'a Kubernetes name such as order-service');

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

/** What every experiment has, whatever its fault. */
const common = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  /** The target: a service name (its Service and, by default, its pods labelled app.kubernetes.io/name=<service>). */
  service: KubeName(),
  /** Label selector of the target's pods, equality or set-based (overrides the default). */
  selector: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  /** The workload that owns the target's pods: deployment/<name> or statefulset/<name>. */
  workload: Type.Optional(Text(WORKLOAD, 'deployment/<name> or statefulset/<name>')),
  thresholds: Type.Optional(ThresholdsSchema),
};

/** One fault's experiment: its type, the common fields and its own. */
export const experimentSchema = <Name extends string, Fields extends TProperties>(
  type: Name,
  fields: Fields,
) => Type.Object({ type: Type.Literal(type), ...common, ...fields }, { additionalProperties: false });

/** A flag's text for a number field: a number when it is one, else the text, for the schema to refuse by name. */
export const numeric = (value: string) => {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
};

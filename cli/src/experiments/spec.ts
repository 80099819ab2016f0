// What an experiment is, as flags and suite files both describe it. One schema validates both; each
// fault's part of it comes from the fault (faults/registry.ts).
// Targets are data: any workload in the namespace can be a target (the three platform services are
// only the defaults), found by a label selector or by its Deployment / StatefulSet.
import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { FAULTS } from '../faults/registry.js';
import { MAX_RPS } from '../traffic/limits.js';
import { durationProblem, formatMs, parseDuration, shown } from './duration.js';
import { Duration, MAX_RETRIES, MAX_RETRY_BACKOFF_MS, type ThresholdsSchema } from './fields.js';

/** The faults' schemas as a tuple, so that a spec's type is the union of theirs. */
type Schemas<F extends readonly unknown[]> = {
  -readonly [K in keyof F]: F[K] extends { schema: infer S extends TSchema } ? S : never;
};
export const ExperimentSchema = Type.Union(
  FAULTS.map((fault) => fault.schema) as unknown as Schemas<typeof FAULTS>,
);

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
export const FAULT_TYPES = FAULTS.map((fault) => fault.name);
export type SpecOf<T extends FaultType> = Extract<ExperimentSpec, { type: T }>;
export type Suite = Static<typeof SuiteSchema>;
export type Thresholds = Static<typeof ThresholdsSchema>;

/** What is wrong with a suite, at which field: flags are checked as the suite they make. */
export interface Problem {
  path: Array<string | number>;
  message: string;
}

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
    const meaning = (schemaAt(schema, error.schemaPath) as { 'x-meaning'?: string })['x-meaning'];
    const got = shown(valueAt(value, path));
    return { path, message: `${meaning ? `must be ${meaning}` : error.message} (got ${got})` };
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

const schemaAt = (schema: TSchema, path: string) =>
  path
    .split('/')
    .slice(1)
    .reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], schema) ?? {};

const valueAt = (value: unknown, path: string[]) =>
  path.reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], value);

// What is wrong with a suite, at which field: one message for files and flags alike. Unions whose
// variant is chosen by a field (an experiment's `type`, a probe's `http`/`promql`) are checked
// against that variant alone, so an error names the field that is wrong, not every variant's.
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { durationProblem, formatMs, parseDuration, shown } from '../experiments/duration.js';

export interface Problem {
  path: Array<string | number>;
  message: string;
}

/** A union inside a schema whose items are told apart by a field: where it is and how to pick. */
export interface Discriminated {
  /** The array's path in the document, e.g. ['experiments']. */
  at: string[];
  /** The variant for an item, or the problem that no variant fits. */
  variant(item: unknown): { schema: TSchema } | { problem: Problem };
}

/** The first problem of `value` against `schema`, or undefined when it is valid. */
export function problemOf(
  schema: TSchema,
  value: unknown,
  unions: readonly Discriminated[] = [],
): Problem | undefined {
  for (const union of unions) {
    const items = valueAt(value, union.at);
    if (!Array.isArray(items)) continue;
    for (const [index, item] of items.entries()) {
      const chosen = union.variant(item);
      if ('problem' in chosen)
        return { ...chosen.problem, path: [...union.at, index, ...chosen.problem.path] };
      const problem = firstProblem(chosen.schema, item, []);
      if (problem) return { ...problem, path: [...union.at, index, ...problem.path] };
    }
  }
  const skipped = unions.map((u) => `/${u.at.join('/')}/`);
  return firstProblem(schema, value, skipped);
}

/** `experiments[0].latency`, as a message names a field. */
export const pathText = (path: Array<string | number>) =>
  path
    .map((key) => (typeof key === 'number' ? `[${key}]` : `.${key}`))
    .join('')
    .replace(/^\./, '');

function firstProblem(schema: TSchema, value: unknown, skipped: string[]): Problem | undefined {
  // Errors walks a valid value as long as Check does, collecting what it finds on the way: every
  // run checks a valid suite (the built-in one for a fault command), so only an invalid one pays.
  if (Value.Check(schema, value)) return durationProblemIn(schema, value, []);
  const [error] = Value.Errors(schema, value).filter(
    (e) =>
      e.keyword !== 'boolean' &&
      e.keyword !== 'anyOf' &&
      !skipped.some(
        (prefix) => `${e.instancePath}/`.startsWith(prefix) && e.instancePath.length >= prefix.length,
      ),
  );
  if (error) {
    const path = error.instancePath.split('/').filter(Boolean).map(key);
    const params = error.params as Record<string, unknown>;
    const unknown = params.additionalProperties as string[] | undefined;
    if (unknown) return { path, message: `has an unknown field: ${unknown.join(', ')}` };
    const meaning = (schemaAt(schema, error.schemaPath) as { 'x-meaning'?: string })['x-meaning'];
    const got = shown(valueAt(value, path));
    return { path, message: `${meaning ? `must be ${meaning}` : error.message} (got ${got})` };
  }
  return durationProblemIn(schema, value, []);
}

const key = (part: string) => (/^\d+$/.test(part) ? Number(part) : part);

/** Durations are free text to the schema: their syntax, bound and non-zero rule are checked here. */
function durationProblemIn(
  schema: TSchema,
  value: unknown,
  path: Array<string | number>,
): Problem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const rules = (schema as { 'x-duration'?: { nonZero?: string; maxMs?: number } })['x-duration'];
  if (rules) return undefined;
  const { properties, items, patternProperties, anyOf } = schema as {
    properties?: Record<string, TSchema>;
    items?: TSchema;
    patternProperties?: Record<string, TSchema>;
    anyOf?: TSchema[];
  };
  const children: Array<[string | number, TSchema, unknown]> = [];
  if (Array.isArray(value) && items) for (const [i, item] of value.entries()) children.push([i, items, item]);
  if (!Array.isArray(value)) {
    for (const [name, field] of Object.entries(properties ?? {})) {
      const given = (value as Record<string, unknown>)[name];
      if (given !== undefined) children.push([name, field, given]);
    }
    const [pattern] = Object.values(patternProperties ?? {});
    if (pattern)
      for (const [name, given] of Object.entries(value as Record<string, unknown>))
        children.push([name, pattern, given]);
  }
  // A union of objects (probes, abort conditions): the variant the value validates against.
  if (anyOf) {
    const variant = anyOf.find((candidate) => Value.Check(candidate, value));
    return variant ? durationProblemIn(variant, value, path) : undefined;
  }
  for (const [name, field, given] of children) {
    const own = (field as { 'x-duration'?: { nonZero?: string; maxMs?: number } })['x-duration'];
    if (!own) {
      const problem = durationProblemIn(field, given, [...path, name]);
      if (problem) return problem;
      continue;
    }
    const problem = durationProblem(given);
    if (problem) return { path: [...path, name], message: problem };
    const ms = parseDuration(given as string | number);
    if (own.nonZero && ms === 0)
      return { path: [...path, name], message: `must be more than 0: ${own.nonZero}` };
    if (own.maxMs !== undefined && ms > own.maxMs)
      return {
        path: [...path, name],
        message: `must be at most ${formatMs(own.maxMs)} (got ${shown(given)})`,
      };
  }
  return undefined;
}

const schemaAt = (schema: TSchema, path: string) =>
  path
    .split('/')
    .slice(1)
    .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], schema) ?? {};

const valueAt = (value: unknown, path: Array<string | number>) =>
  path.reduce<unknown>((at, part) => (at as Record<string | number, unknown> | undefined)?.[part], value);

// A probe's tolerance: what the value it read is compared with (exactly one comparison per probe).
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../errors.js';
import type { ProbePhase } from '../suite/schema.js';

const NUMERIC = ['below', 'atMost', 'above', 'atLeast'] as const;
const OPS = ['equals', 'notEquals', ...NUMERIC, 'unchanged'] as const;

export type Comparison =
  | { op: 'equals' | 'notEquals'; expected: unknown }
  | { op: (typeof NUMERIC)[number]; expected: number }
  | { op: 'unchanged' };

/** The comparison fields of a probe (or of its `json`), as the suite file writes them. */
export type ComparisonFields = { [op in (typeof OPS)[number]]?: unknown };

/** The one comparison `fields` declare; `field` (e.g. probes[2].promql) names them in a refusal. */
export function comparisonOf(fields: ComparisonFields, field: string): Comparison {
  const given = OPS.filter((op) => fields[op] !== undefined);
  const [op] = given;
  if (given.length !== 1 || op === undefined)
    throw new UsageError(
      `${field}: give exactly one of ${OPS.join(', ')}${given.length ? ` (got ${given.join(', ')})` : ''}`,
    );
  if (op === 'unchanged') {
    if (fields.unchanged !== true) throw new UsageError(`${field}.unchanged: must be true`);
    return { op };
  }
  if (op === 'equals' || op === 'notEquals') return { op, expected: fields[op] };
  const expected = fields[op];
  if (typeof expected !== 'number' || !Number.isFinite(expected))
    throw new UsageError(`${field}.${op}: must be a number (got ${show(expected)})`);
  return { op, expected };
}

/** What the probe read before the fault, for `unchanged`; undefined when it read nothing then. */
export type Before = { value: unknown } | undefined;

export interface Verdict {
  ok: boolean;
  /** One line: what was read, and why it fails when it does. */
  detail: string;
}

/**
 * Compares `value` as `comparison` says. In the before phase `unchanged` only records: the value
 * read then is what later phases must read again.
 */
export function compare(comparison: Comparison, value: unknown, phase: ProbePhase, before: Before): Verdict {
  const read = `read ${show(value)}`;
  switch (comparison.op) {
    case 'equals':
    case 'notEquals': {
      const same = isDeepStrictEqual(value, comparison.expected);
      const ok = comparison.op === 'equals' ? same : !same;
      return {
        ok,
        detail: ok
          ? read
          : `${read}, expected ${comparison.op === 'equals' ? '' : 'anything but '}${show(comparison.expected)}`,
      };
    }
    case 'unchanged':
      if (phase === 'before') return { ok: true, detail: `${read} (kept: it must read the same later)` };
      if (before === undefined)
        return { ok: false, detail: `${read}, but nothing was read before the fault to compare with` };
      return isDeepStrictEqual(value, before.value)
        ? { ok: true, detail: `${read}, unchanged` }
        : { ok: false, detail: `${read}, before the fault ${show(before.value)}` };
    default: {
      const words = { below: 'below', atMost: 'at most', above: 'above', atLeast: 'at least' }[comparison.op];
      if (typeof value !== 'number' || Number.isNaN(value))
        return { ok: false, detail: `${read}: not a number to compare (${words} ${comparison.expected})` };
      const ok = {
        below: value < comparison.expected,
        atMost: value <= comparison.expected,
        above: value > comparison.expected,
        atLeast: value >= comparison.expected,
      }[comparison.op];
      return { ok, detail: ok ? read : `${read}, not ${words} ${comparison.expected}` };
    }
  }
}

/** A value in one short line: a detail is a log line, not a dump of a body. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../errors.js';
import { compare, comparisonOf } from './compare.js';

const ONE_OF = 'give exactly one of equals, notEquals, below, atMost, above, atLeast, unchanged';

describe('comparisonOf', () => {
  it('refuses none or several comparisons, naming the field', () => {
    expect(() => comparisonOf({}, 'probes[2].promql')).toThrow(new UsageError(`probes[2].promql: ${ONE_OF}`));
    expect(() => comparisonOf({ below: 1, equals: 0 }, 'probes[0].http.json')).toThrow(
      new UsageError(`probes[0].http.json: ${ONE_OF} (got equals, below)`),
    );
  });

  it('takes a falsy expected value as given (equals: 0, equals: false)', () => {
    expect(comparisonOf({ equals: 0 }, 'f')).toEqual({ op: 'equals', expected: 0 });
    expect(comparisonOf({ notEquals: false }, 'f')).toEqual({ op: 'notEquals', expected: false });
  });

  it('refuses a numeric comparison with something else than a number', () => {
    expect(() => comparisonOf({ below: '5' }, 'probes[1].promql')).toThrow(
      new UsageError('probes[1].promql.below: must be a number (got "5")'),
    );
  });
});

describe('compare', () => {
  const check = (fields: Parameters<typeof comparisonOf>[0], value: unknown) =>
    compare(comparisonOf(fields, 'f'), value, 'during', undefined);

  it('compares deeply for equals and notEquals', () => {
    expect(check({ equals: { a: [1, 2] } }, { a: [1, 2] }).ok).toBe(true);
    expect(check({ equals: { a: [1, 2] } }, { a: [2, 1] })).toEqual({
      ok: false,
      detail: 'read {"a":[2,1]}, expected {"a":[1,2]}',
    });
    expect(check({ notEquals: 'down' }, 'up').ok).toBe(true);
    expect(check({ equals: 1 }, '1').ok).toBe(false);
  });

  it('compares numbers at and across each bound', () => {
    expect([check({ below: 5 }, 4.9).ok, check({ below: 5 }, 5).ok]).toEqual([true, false]);
    expect([check({ atMost: 5 }, 5).ok, check({ atMost: 5 }, 5.1).ok]).toEqual([true, false]);
    expect([check({ above: 5 }, 5.1).ok, check({ above: 5 }, 5).ok]).toEqual([true, false]);
    expect([check({ atLeast: 5 }, 5).ok, check({ atLeast: 5 }, 4.9).ok]).toEqual([true, false]);
    expect(check({ atLeast: 5 }, 4)).toEqual({ ok: false, detail: 'read 4, not at least 5' });
  });

  it('fails a numeric comparison of a non-number, saying so', () => {
    expect(check({ below: 5 }, '4')).toEqual({
      ok: false,
      detail: 'read "4": not a number to compare (below 5)',
    });
    expect(check({ below: 5 }, Number.NaN).ok).toBe(false);
    expect(check({ atMost: 5 }, undefined)).toEqual({
      ok: false,
      detail: 'read nothing: not a number to compare (at most 5)',
    });
  });

  it('unchanged: records before the fault, then needs the same value', () => {
    const unchanged = comparisonOf({ unchanged: true }, 'f');
    expect(compare(unchanged, { a: 1 }, 'before', undefined).ok).toBe(true);
    expect(compare(unchanged, { a: 1 }, 'after', { value: { a: 1 } }).ok).toBe(true);
    expect(compare(unchanged, { a: 2 }, 'after', { value: { a: 1 } })).toEqual({
      ok: false,
      detail: 'read {"a":2}, before the fault {"a":1}',
    });
    expect(compare(unchanged, 1, 'during', undefined).ok).toBe(false);
  });

  it('keeps a long value to one short line', () => {
    const { detail } = check({ equals: 'x' }, 'y'.repeat(1000));
    expect(detail.length).toBeLessThan(250);
  });
});

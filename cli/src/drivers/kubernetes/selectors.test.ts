// Label selectors as k8s.io/apimachinery/pkg/labels parses and matches them.
import { describe, expect, it } from '@jest/globals';
import { fromLabelSelector, matches, parseSelector, toLabelSelector } from './selectors.js';

describe('label selectors', () => {
  const labels = { app: 'ledger', tier: 'db', 'app.kubernetes.io/name': 'ledger' };
  it.each([
    ['app=ledger', true],
    ['app==ledger', true],
    ['app!=ledger', false],
    ['tier in (db, cache)', true],
    ['tier notin (db)', false],
    ['app.kubernetes.io/name', true],
    ['!canary', true],
    ['app=ledger,!tier', false],
    ['missing!=x', true],
  ])('%s matches the ledger pod: %s', (selector, expected) => {
    expect(matches(parseSelector(selector), labels)).toBe(expected);
  });

  it.each(['', 'app=', 'tier in db', '=x', 'a b'])('refuses %j with a clear message', (selector) => {
    if (selector === 'app=') {
      // An empty value is valid upstream: app= selects pods whose app label is empty.
      expect(matches(parseSelector(selector), { app: '' })).toBe(true);
      return;
    }
    expect(() => parseSelector(selector)).toThrow(/is not a label selector/);
  });

  it('turns a selector into matchLabels and matchExpressions and back', () => {
    const requirements = parseSelector('app=ledger,tier in (db,cache),!canary');
    const selector = toLabelSelector(requirements);
    expect(selector).toEqual({
      matchLabels: { app: 'ledger' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['db', 'cache'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    });
    expect(matches(fromLabelSelector(selector), labels)).toBe(true);
  });
});

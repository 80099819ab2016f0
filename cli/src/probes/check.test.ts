import { describe, expect, it } from '@jest/globals';
import { UsageError } from '../errors.js';
import type { AbortSpec, ProbeSpec } from '../suite/schema.js';
import { checkProbes } from './check.js';

const http = (name: string, extra: Partial<ProbeSpec> = {}): ProbeSpec =>
  ({ name, http: { target: 'checkout', path: '/healthz' }, ...extra }) as ProbeSpec;
const promql = (name: string, fields: Record<string, unknown>, extra: Partial<ProbeSpec> = {}): ProbeSpec =>
  ({ name, promql: { url: 'http://prometheus:9090', query: 'up', ...fields }, ...extra }) as ProbeSpec;

describe('checkProbes', () => {
  it('accepts a consistent set of probes and abort conditions', () => {
    const probes = [
      http('health'),
      promql('stock', { unchanged: true }, { when: ['before', 'after'] }),
      promql('errors', { below: 0.1 }, { when: ['during'], every: '2s' }),
    ];
    const abort: AbortSpec[] = [
      { probe: 'health', for: '3s' },
      { probe: 'errors' },
      { errorRate: 0.5, window: '10s' },
      { promql: { url: 'http://prometheus:9090', query: 'up == 0' }, for: '5s' },
    ];
    expect(() => checkProbes(probes, abort)).not.toThrow();
    expect(() => checkProbes()).not.toThrow();
  });

  it('refuses a probe without exactly one comparison, naming it by its place', () => {
    expect(() => checkProbes([http('a'), http('b'), promql('c', {})], [])).toThrow(
      new UsageError(
        'probes[2].promql: give exactly one of equals, notEquals, below, atMost, above, atLeast, unchanged',
      ),
    );
  });

  it('refuses two probes of one name', () => {
    expect(() => checkProbes([http('a'), http('a')], [])).toThrow(
      new UsageError('probes[1].name: another probe is already named "a"'),
    );
  });

  it('refuses unchanged on a probe not read before the fault', () => {
    expect(() => checkProbes([promql('stock', { unchanged: true }, { when: ['after'] })], [])).toThrow(
      new UsageError(
        'probes[0].when: unchanged compares with the value read before the fault, so when must include before',
      ),
    );
  });

  it('refuses an HTTP probe with both a target and a URL, and a bad duration', () => {
    expect(() =>
      checkProbes([{ name: 'x', http: { target: 'checkout', url: 'http://a/' } } as ProbeSpec], []),
    ).toThrow(new UsageError('probes[0].http: give exactly one of target, url'));
    expect(() => checkProbes([http('x', { every: '5 minutes' })], [])).toThrow(
      new UsageError("probes[0].every must look like 300ms, 30s, 2m or 1h (got '5 minutes')"),
    );
  });

  it('refuses an abort condition on a probe that does not exist or is not sampled during the fault', () => {
    expect(() => checkProbes([http('health')], [{ errorRate: 0.1 }, { probe: 'helth' }])).toThrow(
      new UsageError('abort[1].probe: no probe is named "helth"'),
    );
    expect(() => checkProbes([http('health', { when: ['before', 'after'] })], [{ probe: 'health' }])).toThrow(
      new UsageError(
        'abort[0].probe: probe "health" is not sampled during the fault (add during to its when)',
      ),
    );
  });
});

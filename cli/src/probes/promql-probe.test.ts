// The PromQL probe against a real Prometheus scraping gauges the test sets.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../drivers/local/supervisor.js';
import type { PromqlProbeSpec } from '../suite/schema.js';
import { PromqlProbe, seriesOf } from './promql-probe.js';
import { type PrometheusFixture, startPrometheus } from './test-support/prometheus.js';

describe('PromqlProbe', () => {
  let prom: PrometheusFixture;
  const probe = (spec: Omit<PromqlProbeSpec, 'url'>, url = prom.url) =>
    new PromqlProbe('p', { url, ...spec } as PromqlProbeSpec, 'probes[0]');
  const hasValue = (value: string) => (d: { result: unknown }) =>
    JSON.stringify(d.result).includes(`"${value}"`);

  beforeAll(async () => {
    prom = await startPrometheus();
    prom.set('my_gauge{shard="a"}', 1);
    prom.set('my_gauge{shard="b"}', 5);
    await prom.waitFor('sum(my_gauge)', hasValue('6'));
  }, 30_000);

  afterAll(async () => {
    await prom?.stop();
  });

  it('compares a scalar', async () => {
    expect(
      await probe({ query: 'scalar(my_gauge{shard="b"})', atLeast: 5 }).read('during', undefined),
    ).toMatchObject({
      ok: true,
      value: 5,
    });
    const fail = await probe({ query: 'scalar(my_gauge{shard="b"})', below: 5 }).read('during', undefined);
    expect(fail).toMatchObject({ ok: false, value: 5, detail: 'read 5, not below 5' });
  });

  it('requires every sample of a vector to pass, naming the failing series by its labels', async () => {
    const passing = await probe({ query: 'my_gauge', atMost: 5 }).read('during', undefined);
    expect(passing.ok).toBe(true);
    expect(passing.detail).toBe('2 series, each passes');
    const failing = await probe({ query: 'my_gauge', below: 3 }).read('during', undefined);
    expect(failing.ok).toBe(false);
    expect(failing.detail).toMatch(
      /^1 of 2 series fail: my_gauge\{instance="127\.0\.0\.1:\d+",job="fixture",shard="b"\} read 5, not below 3$/,
    );
  });

  it('fails on no data unless emptyPasses', async () => {
    const empty = { query: 'my_gauge{shard="none"}', equals: 0 };
    expect(await probe(empty).read('during', undefined)).toMatchObject({
      ok: false,
      detail: 'no data: the query returned no series',
    });
    expect(await probe({ ...empty, emptyPasses: true }).read('during', undefined)).toMatchObject({
      ok: true,
    });
  });

  it('refuses a matrix and a string, saying why', async () => {
    const matrix = await probe({ query: 'my_gauge[1m]', equals: 1 }).read('during', undefined);
    expect(matrix).toMatchObject({ ok: false });
    expect(matrix.detail).toMatch(
      /^the query returned a matrix: a probe compares a scalar or an instant vector/,
    );
    const text = await probe({ query: '"hello"', equals: 'hello' }).read('during', undefined);
    expect(text).toMatchObject({
      ok: false,
      detail: 'the query returned a string: a probe compares a scalar or an instant vector',
    });
  });

  it("reports Prometheus' own refusal of a bad query, and a Prometheus that does not answer", async () => {
    const bad = await probe({ query: 'my_gauge{', equals: 1 }).read('during', undefined);
    expect(bad.ok).toBe(false);
    expect(bad.detail).toMatch(/^Prometheus refused the query \(400 bad_data\): /);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const gone = await probe({ query: 'up', equals: 1 }, closed).read('during', undefined);
    expect(gone).toMatchObject({
      ok: false,
      detail: `Prometheus at ${closed}: connect ECONNREFUSED ${closed.slice(7)}`,
    });
  });

  it('unchanged: the whole vector read again, a changed series named', async () => {
    prom.set('my_gauge{shard="c"}', 7);
    await prom.waitFor('my_gauge{shard="c"}', hasValue('7'));
    const stock = probe({ query: 'my_gauge{shard="c"}', unchanged: true });
    const before = await stock.read('before', undefined);
    expect(before.ok).toBe(true);
    expect(await stock.read('after', { value: before.value })).toMatchObject({ ok: true });
    prom.set('my_gauge{shard="c"}', 6);
    await prom.waitFor('my_gauge{shard="c"}', hasValue('6'));
    const after = await stock.read('after', { value: before.value });
    expect(after.ok).toBe(false);
    expect(after.detail).toMatch(/shard=\\"c\\"\}":6\}, before the fault \{.*":7\}$/);
  });
});

describe('seriesOf', () => {
  it('writes a series as PromQL does, labels sorted', () => {
    expect(seriesOf({ job: 'x', __name__: 'up', instance: 'a:1' })).toBe('up{instance="a:1",job="x"}');
    expect(seriesOf({})).toBe('{}');
  });
});

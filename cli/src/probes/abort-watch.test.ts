// The abort conditions against live samples, a real HTTP server behind a during-probe, and a real
// Prometheus for the PromQL condition.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../drivers/local/supervisor.js';
import type { AbortSpec } from '../suite/schema.js';
import { type AbortReason, AbortWatch, MIN_SAMPLES, type TrafficSample } from './abort-watch.js';
import { Hypothesis } from './hypothesis.js';
import { type PrometheusFixture, startPrometheus } from './test-support/prometheus.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noProbes = () => new Hypothesis([], { urlOf: () => Promise.reject(new Error('no targets')) });

/** Polls (bounded: 100 × 50 ms) until `done`. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await sleep(50);
}

describe('AbortWatch', () => {
  const watches: AbortWatch[] = [];
  const hypotheses: Hypothesis[] = [];
  const watch = (
    conditions: AbortSpec[],
    opts: { hypothesis?: Hypothesis; errors?: () => TrafficSample[]; log?: (l: string) => void } = {},
  ) => {
    const aborts: AbortReason[] = [];
    const w = new AbortWatch(conditions, {
      hypothesis: opts.hypothesis ?? noProbes(),
      errors: opts.errors ?? (() => []),
      onAbort: (reason) => aborts.push(reason),
      log: opts.log,
    });
    watches.push(w);
    w.start();
    return { w, aborts };
  };

  afterEach(async () => {
    for (const w of watches.splice(0)) w.stop();
    for (const h of hypotheses.splice(0)) await h.stopDuring();
  });

  describe('error rate', () => {
    it(`fires once the window holds ${MIN_SAMPLES} requests and too many failed, and only once`, async () => {
      const samples: TrafficSample[] = [];
      const { w, aborts } = watch([{ errorRate: 0.5 }], { errors: () => samples });
      for (let i = 0; i < MIN_SAMPLES - 1; i++) samples.push({ completedAt: Date.now(), ok: false });
      await sleep(600);
      expect(w.fired).toBeUndefined();
      samples.push({ completedAt: Date.now(), ok: false }, { completedAt: Date.now(), ok: true });
      await until(() => aborts.length > 0);
      expect(aborts).toEqual([
        {
          condition: 'error rate > 0.5 over 5s',
          detail: '10 of 11 requests failed in the last 5000 ms (90.9%)',
        },
      ]);
      expect(w.fired).toMatchObject(aborts[0] as AbortReason);
      samples.push(...samples);
      await sleep(600);
      expect(aborts).toHaveLength(1);
    });

    it('counts only the requests completed in its window, and a rate at the threshold is not over it', async () => {
      const now = Date.now();
      const samples: TrafficSample[] = [
        ...Array.from({ length: 50 }, () => ({ completedAt: now - 3000, ok: false })),
        ...Array.from({ length: 20 }, (_, i) => ({ completedAt: now, ok: i % 2 === 0 })),
      ];
      const { w } = watch([{ name: 'errors', errorRate: 0.5, window: '2s' }], { errors: () => samples });
      await sleep(700);
      expect(w.fired).toBeUndefined();
      samples.push({ completedAt: Date.now(), ok: false });
      await until(() => w.fired !== undefined);
      expect(w.fired).toMatchObject({
        condition: 'errors',
        detail: '11 of 21 requests failed in the last 2000 ms (52.4%)',
      });
    });
  });

  describe('a failing probe', () => {
    let server: Server;
    let base = '';
    let status = 200;

    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(status);
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    const sampled = () => {
      const h = new Hypothesis([{ name: 'health', http: { target: 't' }, when: ['during'], every: '50ms' }], {
        urlOf: async () => base,
      });
      hypotheses.push(h);
      h.startDuring();
      return h;
    };

    it('fires when the probe has failed for `for`, not before, and only once', async () => {
      status = 200;
      const hypothesis = sampled();
      const { w, aborts } = watch([{ probe: 'health', for: '500ms' }], { hypothesis });
      await sleep(300);
      expect(w.fired).toBeUndefined();
      status = 503;
      const broke = Date.now();
      await until(() => aborts.length > 0);
      expect(Date.now() - broke).toBeGreaterThanOrEqual(500);
      expect(aborts).toHaveLength(1);
      expect(aborts[0]?.condition).toBe('probe health failing for 500ms');
      expect(aborts[0]?.detail).toMatch(/^failing for \d+ ms: answered 503 in \d+ ms, expected 2xx$/);
      await sleep(600);
      expect(aborts).toHaveLength(1);
      expect(w.fired?.at).toBeGreaterThanOrEqual(broke + 500);
    });

    it('without `for`, fires at the first failed sample', async () => {
      status = 503;
      const { w } = watch([{ name: 'health down', probe: 'health' }], { hypothesis: sampled() });
      await until(() => w.fired !== undefined);
      expect(w.fired?.condition).toBe('health down');
    });

    it('a probe that recovers within `for` does not fire', async () => {
      status = 503;
      const { w } = watch([{ probe: 'health', for: '2s' }], { hypothesis: sampled() });
      await sleep(400);
      status = 200;
      await sleep(2000);
      expect(w.fired).toBeUndefined();
    });
  });

  describe('PromQL', () => {
    let prom: PrometheusFixture;

    beforeAll(async () => {
      prom = await startPrometheus();
      prom.set('my_gauge', 0);
      await prom.waitFor('my_gauge', (d) => JSON.stringify(d.result).includes('"0"'));
    }, 30_000);

    afterAll(async () => {
      await prom?.stop();
    });

    it('fires once the expression has returned a non-zero sample for `for`', async () => {
      const { w, aborts } = watch([{ promql: { url: prom.url, query: 'my_gauge > 0' }, for: '1s' }]);
      await sleep(1000);
      expect(w.fired).toBeUndefined();
      prom.set('my_gauge', 3);
      await prom.waitFor('my_gauge', (d) => JSON.stringify(d.result).includes('"3"'));
      const seen = Date.now();
      await until(() => aborts.length > 0);
      expect(Date.now() - seen).toBeGreaterThanOrEqual(900);
      expect(aborts).toHaveLength(1);
      expect(aborts[0]?.condition).toBe('promql my_gauge > 0 for 1s');
      expect(aborts[0]?.detail).toMatch(
        /^true for \d+ ms: my_gauge\{instance="127\.0\.0\.1:\d+",job="fixture"\} 3$/,
      );
      prom.set('my_gauge', 0);
    }, 15_000);

    it('a zero scalar is false, a Prometheus that does not answer is no abort (one warning)', async () => {
      const lines: string[] = [];
      const closed = `http://127.0.0.1:${await freePort()}`;
      const { w } = watch(
        [
          { name: 'zero', promql: { url: prom.url, query: 'scalar(vector(0))' } },
          { name: 'gone', promql: { url: closed, query: 'up == 0' } },
        ],
        { log: (l) => lines.push(l) },
      );
      await sleep(1200);
      expect(w.fired).toBeUndefined();
      expect(lines).toEqual([
        `warning: abort condition "gone" cannot be checked: Prometheus at ${closed}: connect ECONNREFUSED ${closed.slice(7)}`,
      ]);
    });
  });
});

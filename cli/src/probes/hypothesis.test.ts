// The steady-state hypothesis against a real HTTP server whose health and stock the test changes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ProbeSpec } from '../suite/schema.js';
import { AFTER_POLL_MS, Hypothesis } from './hypothesis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Hypothesis', () => {
  let server: Server;
  let base = '';
  const state = { status: 200, stock: 10, delayMs: 0, requests: 0, inFlight: 0, maxInFlight: 0 };
  const urlOf = async () => base;
  const hypotheses: Hypothesis[] = [];
  const hypothesis = (probes: ProbeSpec[], log?: (line: string) => void) => {
    const h = new Hypothesis(probes, { urlOf, log });
    hypotheses.push(h);
    return h;
  };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      state.requests++;
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      setTimeout(() => {
        state.inFlight--;
        res.writeHead(state.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ stock: state.stock }));
      }, state.delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const h of hypotheses.splice(0)) await h.stopDuring();
    Object.assign(state, { status: 200, stock: 10, delayMs: 0, requests: 0, inFlight: 0, maxInFlight: 0 });
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('checks before the fault only the probes that say so (all three phases by default)', async () => {
    const h = hypothesis([
      { name: 'health', http: { target: 't' } },
      { name: 'later', http: { target: 't' }, when: ['after'] },
    ]);
    const results = await h.before();
    expect(results.map((r) => [r.name, r.phase, r.ok])).toEqual([['health', 'before', true]]);
    expect(h.latest('health')).toBe(results[0]);
    expect(h.latest('later')).toBeUndefined();
  });

  it('samples during the fault every `every`, never overlapping itself, and stops when told', async () => {
    state.delayMs = 150;
    const h = hypothesis([{ name: 'health', http: { target: 't' }, when: ['during'], every: '50ms' }]);
    h.startDuring();
    await sleep(800);
    const results = await h.stopDuring();
    // A 150 ms answer and a 50 ms period: one sample at a time, about every 150 ms.
    expect(state.maxInFlight).toBe(1);
    expect(results.length).toBeGreaterThanOrEqual(3);
    expect(results.length).toBeLessThanOrEqual(6);
    expect(results.every((r) => r.phase === 'during' && r.ok)).toBe(true);
    const sent = state.requests;
    await sleep(300);
    expect(state.requests).toBe(sent);
  });

  it('knows since when a during-probe has failed, and forgets once it passes', async () => {
    const lines: string[] = [];
    const h = hypothesis([{ name: 'health', http: { target: 't' }, when: ['during'], every: '50ms' }], (l) =>
      lines.push(l),
    );
    h.startDuring();
    await sleep(150);
    expect(h.failingSince('health')).toBeUndefined();
    const broke = Date.now();
    state.status = 503;
    await sleep(200);
    const since = h.failingSince('health');
    // The first failure may be a probe already in flight when the status changed: it started at
    // most one period (50 ms) before.
    expect(since).toBeGreaterThan(broke - 50);
    await sleep(100);
    expect(h.failingSince('health')).toBe(since);
    state.status = 200;
    await sleep(200);
    expect(h.failingSince('health')).toBeUndefined();
    const results = await h.stopDuring();
    expect(results.some((r) => !r.ok && r.detail.startsWith('answered 503'))).toBe(true);
    expect(
      lines.filter((l) => l.startsWith('probe health failing during the fault: answered 503')),
    ).toHaveLength(1);
    expect(lines).toContain('probe health passing again during the fault');
  });

  it('after the fault: polls until every after-probe holds in one round, and says when', async () => {
    state.status = 503;
    const h = hypothesis([
      { name: 'health', http: { target: 't' }, when: ['after'] },
      { name: 'stock', http: { target: 't', json: { expression: 'stock', atLeast: 5 } }, when: ['after'] },
    ]);
    const healed = Date.now() + 600;
    setTimeout(() => {
      state.status = 200;
    }, 600);
    const { results, heldAt } = await h.after(Date.now() + 5000);
    expect(heldAt).not.toBeNull();
    expect(heldAt as number).toBeGreaterThanOrEqual(healed - AFTER_POLL_MS);
    expect(Date.now() - healed).toBeLessThan(1000);
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['health', true],
      ['stock', true],
    ]);
    // Rounds at most every AFTER_POLL_MS: about 600 / 250 failing rounds of two probes, then one passing.
    expect(state.requests).toBeLessThanOrEqual(2 * (Math.ceil(600 / AFTER_POLL_MS) + 2));
  });

  it('after the fault: gives up at the deadline with the last failing round', async () => {
    state.status = 503;
    const lines: string[] = [];
    const h = hypothesis([{ name: 'health', http: { target: 't' }, when: ['after'] }], (l) => lines.push(l));
    const started = Date.now();
    const { results, heldAt } = await h.after(started + 700);
    expect(heldAt).toBeNull();
    // Rounds at 0, 250, 500 and the last one at the deadline.
    expect(Date.now() - started).toBeGreaterThanOrEqual(690);
    expect(Date.now() - started).toBeLessThan(1200);
    expect(results).toMatchObject([{ name: 'health', phase: 'after', ok: false }]);
    expect(lines).toEqual([
      expect.stringMatching(/^probe health still failing after the fault: answered 503/),
    ]);
  });

  it('unchanged: compares after the fault with what it read before', async () => {
    const h = hypothesis([
      {
        name: 'stock',
        http: { target: 't', json: { expression: 'stock', unchanged: true } },
        when: ['before', 'after'],
      },
    ]);
    expect((await h.before())[0]).toMatchObject({ ok: true, value: 10 });
    state.stock = 9;
    const lost = await h.after(Date.now() + 300);
    expect(lost.heldAt).toBeNull();
    expect(lost.results[0]?.detail).toMatch(/read 9, before the fault 10$/);
    state.stock = 10;
    expect((await h.after(Date.now() + 300)).heldAt).not.toBeNull();
  });
});

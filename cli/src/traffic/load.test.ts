// The generator against a real HTTP server on 127.0.0.1 whose behaviour each test sets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LoadGenerator } from './load.js';

let server: Server;
let url: string;
let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;

const created = (res: ServerResponse, id = 'order-1') => {
  res.writeHead(201, { 'content-type': 'application/json', 'x-served-by': 'order-service-7' });
  res.end(JSON.stringify({ id, status: 'confirmed' }));
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function run(load: LoadGenerator, ms: number) {
  load.start();
  await sleep(ms);
  return load.stop();
}

describe('LoadGenerator', () => {
  it('sends each order when it is due, not a period late, and times it from then', async () => {
    handle = (_req, res) => created(res);
    const load = new LoadGenerator({ url, rps: 50 });
    const started = Date.now();
    const startedHr = performance.now();
    load.start();
    await sleep(500);
    const elapsed = performance.now() - startedHr;
    const samples = (await load.stop()).sort((a, b) => a.dueAt - b.dueAt);
    // None sent before it was due (request i is due at i * 20 ms); the last may still wait for a
    // timer that a busy machine runs late.
    const due = Math.floor(elapsed / 20) + 1;
    expect(samples.length).toBeLessThanOrEqual(due);
    expect(samples.length).toBeGreaterThanOrEqual(due - 3);
    // Request 0 is due at start; each next one a period (20 ms) later.
    expect(Math.abs((samples[0]?.dueAt ?? 0) - started)).toBeLessThan(5);
    samples.slice(1).forEach((sample, i) => {
      expect(sample.dueAt - (samples[i]?.dueAt ?? 0)).toBeCloseTo(20, 2);
    });
    const lags = samples.map((s) => s.lagMs).sort((a, b) => a - b);
    expect(lags[0]).toBeGreaterThanOrEqual(0);
    // The old generator released every request a full period (20 ms) late or more. On a busy machine
    // (another test suite, other work) this process may wait for a CPU, so only ask that several
    // left well within a period of their due time.
    expect(lags[0]).toBeLessThan(5);
    expect(lags.filter((lag) => lag < 10).length).toBeGreaterThanOrEqual(3);
    for (const sample of samples) {
      // Epoch figures carry about 0.2 us of floating-point precision.
      expect(sample.latencyMs).toBeCloseTo(sample.completedAt - sample.dueAt, 2);
      expect(sample.latencyMs).toBeGreaterThanOrEqual(sample.lagMs);
      expect(sample).toMatchObject({ status: 201, attempts: 1, orderId: 'order-1', quantity: 1 });
    }
  });

  it('keeps sending through a stall and charges the stall to every request due during it', async () => {
    const held: ServerResponse[] = [];
    let stalled = true;
    handle = (_req, res) => (stalled ? held.push(res) : created(res));
    const load = new LoadGenerator({ url, rps: 100 });
    load.start();
    await sleep(300);
    stalled = false;
    for (const res of held.splice(0)) created(res);
    await sleep(100);
    const samples = (await load.stop()).sort((a, b) => a.dueAt - b.dueAt);
    // Open model: the stall did not slow the sender (about 40 requests in 400 ms).
    expect(samples.length).toBeGreaterThanOrEqual(36);
    const first = samples[0];
    // Due at 0 and answered after the ~300 ms stall: its latency shows the stall, whatever the send.
    expect(first?.latencyMs).toBeGreaterThanOrEqual(280);
    expect(samples.every((s) => s.status === 201)).toBe(true);
  });

  it.each([
    ['answered 503', (res: ServerResponse) => res.writeHead(503, { 'retry-after': '0' }).end(), 503],
    // No answer at all: the connection dies mid-request, as a SIGKILLed replica's does.
    ['cut off', (res: ServerResponse) => res.socket?.destroy(), 0],
  ])(
    'gives every order its own Idempotency-Key and, told to, retries one %s with the same key',
    async (_, fail, status) => {
      const seen = new Map<string, number>();
      handle = (req, res) => {
        const key = String(req.headers['idempotency-key']);
        const attempts = (seen.get(key) ?? 0) + 1;
        seen.set(key, attempts);
        if (attempts === 1) fail(res);
        else created(res, `order-for-${key}`);
      };
      const retried = await run(
        new LoadGenerator({ url, rps: 100, retry: { retries: 2, backoffMs: 5 } }),
        200,
      );
      await sleep(0);
      expect(retried.length).toBeGreaterThanOrEqual(15);
      expect(new Set(retried.map((s) => s.idempotencyKey)).size).toBe(retried.length);
      for (const sample of retried) {
        expect(sample).toMatchObject({
          status: 201,
          attempts: 2,
          orderId: `order-for-${sample.idempotencyKey}`,
        });
        expect(seen.get(sample.idempotencyKey)).toBe(2);
        // Both attempts and the 5 ms back-off are in the latency a retrying client sees (Node's timers
        // count whole milliseconds, so one may fire a fraction early by the high-resolution clock).
        expect(sample.latencyMs).toBeGreaterThanOrEqual(4);
      }

      seen.clear();
      const once = await run(new LoadGenerator({ url, rps: 100 }), 100);
      expect(once.length).toBeGreaterThan(0);
      expect(once.every((s) => s.status === status && s.attempts === 1 && s.orderId === undefined)).toBe(
        true,
      );
    },
  );

  it('records which replica answered from X-Served-By', async () => {
    handle = (_req, res) => created(res);
    const samples = await run(new LoadGenerator({ url, rps: 50 }), 100);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => s.servedBy === 'order-service-7')).toBe(true);
  });

  it('spreads its orders over replicas that a Service balances by connection', async () => {
    // As kube-proxy and the local supervisor do: each new connection goes to the next replica.
    let connections = 0;
    const replicaOf = new WeakMap<object, string>();
    const front = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json', 'x-served-by': replicaOf.get(req.socket) });
        res.end('{"id":"order-1"}');
      });
    });
    front.on('connection', (socket) => replicaOf.set(socket, `replica-${connections++ % 3}`));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    try {
      const port = (front.address() as AddressInfo).port;
      const samples = await run(new LoadGenerator({ url: `http://127.0.0.1:${port}`, rps: 100 }), 2000);
      const counts = new Map<string, number>();
      for (const s of samples) counts.set(s.servedBy ?? 'none', (counts.get(s.servedBy ?? 'none') ?? 0) + 1);
      // Few keep-alive connections would leave one replica with all of them.
      expect([...counts.keys()].sort()).toEqual(['replica-0', 'replica-1', 'replica-2']);
      for (const count of counts.values()) expect(count / samples.length).toBeGreaterThan(0.2);
    } finally {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it('fails what exceeds maxInFlight at once and what gets no answer at its timeout', async () => {
    const held: ServerResponse[] = [];
    handle = (_req, res) => held.push(res);
    const started = Date.now();
    const samples = await run(new LoadGenerator({ url, rps: 100, maxInFlight: 3, timeoutMs: 300 }), 150);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(samples.every((s) => s.status === 0)).toBe(true);
    // Shed ones never left (no attempt) and ended as they were due; the 3 sent waited their timeout.
    const sent = samples.filter((s) => s.attempts === 1);
    const shed = samples.filter((s) => s.attempts === 0);
    expect(sent).toHaveLength(3);
    expect(sent.every((s) => s.latencyMs - s.lagMs >= 290)).toBe(true);
    expect(shed).toHaveLength(samples.length - 3);
    expect(shed.every((s) => s.latencyMs - s.lagMs < 50)).toBe(true);
    for (const res of held) res.destroy();
  });
});

// The generator against a real HTTP server on 127.0.0.1 whose behaviour each test sets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UsageError } from '../errors.js';
import type { RequestSpec } from '../suite/schema.js';
import { sharedNow } from './clock.js';
import { LoadGenerator, type Sample } from './load.js';

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

/** The demo shop's order, as a suite declares it. */
const ORDER: RequestSpec = {
  target: 'shop',
  method: 'POST',
  path: '/orders',
  body: { product_id: '{{pick PROD-001 PROD-002}}', quantity: 1 },
  success: [201],
  idempotencyHeader: 'Idempotency-Key',
  readBack: { path: '/orders/{{response.id}}' },
};
const orders = (
  extra: {
    rps: number;
    retry?: { retries: number; backoffMs: number };
    maxInFlight?: number;
    timeoutMs?: number;
  },
  at = url,
) => new LoadGenerator({ requests: [ORDER], urlOf: { shop: at }, ...extra });
const readBackPath = (s: Sample) => (s.readBack && 'path' in s.readBack ? s.readBack.path : undefined);

async function run(load: LoadGenerator, ms: number) {
  load.start();
  await sleep(ms);
  return load.stop();
}

describe('LoadGenerator', () => {
  it('sends each order when it is due, not a period late, and times it from then', async () => {
    handle = (_req, res) => created(res);
    const load = orders({ rps: 50 });
    const started = Date.now();
    const startedHr = performance.now();
    load.start();
    const startReturned = Date.now();
    await sleep(500);
    const elapsed = performance.now() - startedHr;
    const samples = (await load.stop()).sort((a, b) => a.dueAt - b.dueAt);
    // None sent before it was due (request i is due at i * 20 ms); the last few may still wait for
    // a tick that a busy machine runs late (up to 100 ms was seen at load 20).
    const due = Math.floor(elapsed / 20) + 1;
    expect(samples.length).toBeLessThanOrEqual(due);
    expect(samples.length).toBeGreaterThanOrEqual(due - 6);
    // Request 0 is due at start (within start()'s own call: a pause of the test's process between
    // two clock readings is not the generator's lateness); each next one a period (20 ms) later.
    expect(samples[0]?.dueAt).toBeGreaterThanOrEqual(started);
    expect(samples[0]?.dueAt).toBeLessThanOrEqual(startReturned);
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
      expect(sample).toMatchObject({ status: 201, ok: true, attempts: 1, request: 0 });
      expect(sample.readBack).toEqual({ url, method: 'GET', headers: {}, path: '/orders/order-1' });
    }
  });

  it('keeps sending through a stall and charges the stall to every request due during it', async () => {
    const held: ServerResponse[] = [];
    let stalled = true;
    handle = (_req, res) => (stalled ? held.push(res) : created(res));
    const load = orders({ rps: 100 });
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
      const retried = await run(orders({ rps: 100, retry: { retries: 2, backoffMs: 5 } }), 200);
      await sleep(0);
      expect(retried.length).toBeGreaterThanOrEqual(15);
      expect(new Set(retried.map((s) => s.idempotencyKey)).size).toBe(retried.length);
      for (const sample of retried) {
        expect(sample).toMatchObject({ status: 201, ok: true, attempts: 2 });
        expect(readBackPath(sample)).toBe(`/orders/order-for-${sample.idempotencyKey}`);
        expect(seen.get(sample.idempotencyKey ?? '')).toBe(2);
        // Both attempts and the 5 ms back-off are in the latency a retrying client sees (Node's timers
        // count whole milliseconds, so one may fire a fraction early by the high-resolution clock).
        expect(sample.latencyMs).toBeGreaterThanOrEqual(4);
      }

      seen.clear();
      const once = await run(orders({ rps: 100 }), 100);
      expect(once.length).toBeGreaterThan(0);
      expect(
        once.every((s) => s.status === status && !s.ok && s.attempts === 1 && s.readBack === undefined),
      ).toBe(true);
    },
  );

  it('records which replica answered from X-Served-By', async () => {
    handle = (_req, res) => created(res);
    const samples = await run(orders({ rps: 50 }), 100);
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => s.servedBy === 'order-service-7')).toBe(true);
  });

  it('records no replica for an answer without X-Served-By, even one without any header', async () => {
    // Bare HTTP, as node:http never answers: a status line and nothing else.
    const bare = createNetServer((socket) => {
      socket.on('data', () => socket.write('HTTP/1.1 204 No Content\r\n\r\n'));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    try {
      const samples = await run(
        orders({ rps: 50 }, `http://127.0.0.1:${(bare.address() as AddressInfo).port}`),
        100,
      );
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.every((s) => s.status === 204 && s.servedBy === undefined)).toBe(true);
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
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
      const samples = await run(orders({ rps: 100 }, `http://127.0.0.1:${port}`), 2000);
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

  it('stopped at an instant, first sends every request due before it, however late its timers are', async () => {
    handle = (_req, res) => created(res);
    const load = orders({ rps: 100 });
    const at = sharedNow();
    load.start(at);
    // The event loop is held for 200 ms: no timer of the generator's can fire meanwhile.
    const busyUntil = performance.now() + 200;
    while (performance.now() < busyUntil);
    const end = sharedNow();
    const samples = await load.stop(end);
    // Due at at, at + 10 ms, ... up to before end: 20 or 21 of them, whatever ran late (within the
    // one request that the two threads' readings of the clock may put on either side of end).
    const due = Math.ceil((end - at) / 10);
    expect(samples.length).toBeGreaterThanOrEqual(due - 1);
    expect(samples.length).toBeLessThanOrEqual(due);
    expect(samples.every((s) => s.status === 201)).toBe(true);
    const dueAt = samples.map((s) => s.dueAt).sort((a, b) => a - b);
    expect((dueAt.at(-1) ?? 0) - (dueAt[0] ?? 0)).toBeCloseTo((samples.length - 1) * 10, 3);
  });

  it('fails what exceeds maxInFlight at once and what gets no answer at its timeout', async () => {
    const held: ServerResponse[] = [];
    handle = (_req, res) => held.push(res);
    const started = Date.now();
    const samples = await run(orders({ rps: 100, maxInFlight: 3, timeoutMs: 300 }), 150);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(samples.every((s) => s.status === 0 && !s.ok)).toBe(true);
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

describe('LoadGenerator through a stall', () => {
  it('holds at most its connection budget per origin, whatever maxInFlight allows', async () => {
    // Every answer stalls 400 ms: at 1,000/s about 400 requests are wanted at once. The old pool,
    // sized to maxInFlight, opened one connection for each.
    const stalled = createServer((_req, res) => {
      setTimeout(() => created(res), 400);
    });
    let open = 0;
    let peak = 0;
    stalled.on('connection', (socket) => {
      peak = Math.max(peak, ++open);
      socket.once('close', () => open--);
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    try {
      const at = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`;
      const samples = await run(orders({ rps: 1000, maxInFlight: 2000, timeoutMs: 5000 }, at), 800);
      expect(samples.length).toBeGreaterThan(600);
      expect(peak).toBeGreaterThan(100);
      expect(peak).toBeLessThanOrEqual(256);
    } finally {
      stalled.closeAllConnections();
      await new Promise((resolve) => stalled.close(resolve));
    }
  }, 30_000);
});

describe('LoadGenerator with a declared mix', () => {
  let other: Server;
  let otherUrl: string;
  const otherSeen: string[] = [];

  beforeAll(async () => {
    other = createServer((req, res) => {
      otherSeen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'x-served-by': 'other' }).end());
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    other.closeAllConnections();
    await new Promise((resolve) => other.close(resolve));
  });

  it('sends each request its weight’s share of the traffic, in any stretch of the run, to its own target', async () => {
    handle = (req, res) => res.writeHead(200, { 'x-served-by': `${req.method} ${req.url}` }).end();
    otherSeen.length = 0;
    const samples = await run(
      new LoadGenerator({
        requests: [
          { target: 'shop', path: '/a', weight: 3 },
          { target: 'shop', method: 'HEAD', path: '/b' },
          { target: 'other', path: '/c', weight: 0.5 },
        ],
        urlOf: { shop: url, other: otherUrl },
        rps: 200,
      }),
      500,
    );
    expect(samples.length).toBeGreaterThanOrEqual(60);
    const expected = [3 / 4.5, 1 / 4.5, 0.5 / 4.5];
    const due = [...samples].sort((a, b) => a.dueAt - b.dueAt);
    // Deterministic: each prefix of the schedule holds each request within one of its share.
    for (const n of [9, 18, due.length]) {
      const counts = [0, 0, 0];
      for (const s of due.slice(0, n)) counts[s.request] = (counts[s.request] ?? 0) + 1;
      counts.forEach((count, i) => {
        expect(Math.abs(count - n * (expected[i] ?? 0))).toBeLessThanOrEqual(1);
      });
    }
    const served = { 0: 'GET /a', 1: 'HEAD /b', 2: 'other' } as Record<number, string>;
    expect(samples.every((s) => s.ok && s.servedBy === served[s.request])).toBe(true);
    expect(otherSeen.length).toBe(samples.filter((s) => s.request === 2).length);
    expect(new Set(otherSeen)).toEqual(new Set(['GET /c']));
  });

  it('renders path, headers and body from their templates; a seed repeats them', async () => {
    const seen = new Map<string, { path: string; type: string; n: string; body: unknown }>();
    handle = (req, res, body) => {
      const parsed = JSON.parse(body) as { seq: number };
      seen.set(`${parsed.seq}`, {
        path: String(req.url),
        type: String(req.headers['content-type']),
        n: String(req.headers['x-n']),
        body: parsed,
      });
      res.writeHead(204).end();
    };
    const generator = () =>
      new LoadGenerator({
        requests: [
          {
            target: 'shop',
            method: 'PUT',
            path: '/items/{{seq}}',
            headers: { 'X-N': 'n{{int 1 3}}' },
            body: {
              seq: '{{seq}}',
              tag: '{{pick a "b c"}}',
              id: '{{uuid}}',
              n: '{{int -2 2}}',
              fixed: [true, null],
            },
          },
        ],
        urlOf: { shop: url },
        rps: 100,
        seed: 42,
      });
    const first = await run(generator(), 150);
    expect(first.every((s) => s.ok && s.status === 204)).toBe(true);
    const firstSeen = new Map(seen);
    seen.clear();
    await run(generator(), 150);
    expect(firstSeen.size).toBeGreaterThanOrEqual(5);
    for (const [seq, got] of firstSeen) {
      expect(got.path).toBe(`/items/${seq}`);
      expect(got.type).toBe('application/json');
      expect(got.n).toMatch(/^n[123]$/);
      expect(got.body).toEqual({
        seq: Number(seq),
        tag: expect.stringMatching(/^(a|b c)$/),
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        n: expect.any(Number),
        fixed: [true, null],
      });
      const again = seen.get(seq);
      if (again) expect(again).toEqual(got);
    }
    expect([...firstSeen.keys()].filter((seq) => seen.has(seq)).length).toBeGreaterThanOrEqual(5);
    expect(new Set([...firstSeen.values()].map((s) => (s.body as { id: string }).id)).size).toBe(
      firstSeen.size,
    );
  });

  it('retries only idempotent requests: by method, or a POST or PATCH with an idempotency header', async () => {
    const arrived = new Map<string, number>();
    const count = (key: string) => arrived.set(key, (arrived.get(key) ?? 0) + 1);
    handle = (req, res) => {
      count(`${req.method} ${req.url}`);
      if (req.headers['x-key']) count(String(req.headers['x-key']));
      res.writeHead(req.url === '/missing' ? 404 : 503).end();
    };
    const requests: RequestSpec[] = [
      { target: 'shop', method: 'POST', path: '/post' },
      { target: 'shop', method: 'PATCH', path: '/patch' },
      { target: 'shop', method: 'POST', path: '/keyed', idempotencyHeader: 'X-Key' },
      { target: 'shop', method: 'DELETE', path: '/delete' },
      { target: 'shop', path: '/missing', success: [404] },
    ];
    const load = new LoadGenerator({
      requests,
      urlOf: { shop: url },
      rps: 50,
      retry: { retries: 2, backoffMs: 1 },
    });
    const samples = await run(load, 300);
    const of = (request: number) => samples.filter((s) => s.request === request);
    for (let i = 0; i < requests.length; i++) expect(of(i).length).toBeGreaterThanOrEqual(2);
    const expected = [
      { status: 503, ok: false, attempts: 1 },
      { status: 503, ok: false, attempts: 1 },
      { status: 503, ok: false, attempts: 3 },
      { status: 503, ok: false, attempts: 3 },
      { status: 404, ok: true, attempts: 1 },
    ];
    expected.forEach((outcome, i) => {
      for (const s of of(i)) expect(s).toMatchObject(outcome);
    });
    expect(arrived.get('POST /post')).toBe(of(0).length);
    expect(arrived.get('PATCH /patch')).toBe(of(1).length);
    expect(arrived.get('DELETE /delete')).toBe(3 * of(3).length);
    // Every attempt of a keyed request carried its one key; each request its own.
    expect(new Set(of(2).map((s) => s.idempotencyKey)).size).toBe(of(2).length);
    for (const s of of(2)) expect(arrived.get(s.idempotencyKey ?? 'none')).toBe(3);
    expect(of(0).every((s) => s.idempotencyKey === undefined)).toBe(true);
  });

  it('renders a read-back from the answer, or says which field the answer lacked', async () => {
    handle = (_req, res, body) => {
      const { name } = JSON.parse(body) as { name: string };
      const items = name === 'none' ? [] : [{ id: `id-${name}` }];
      res.writeHead(201, { 'content-type': 'application/json', location: `/things/${name}` });
      res.end(JSON.stringify({ items }));
    };
    const samples = await run(
      new LoadGenerator({
        requests: [
          {
            target: 'shop',
            path: '/things',
            body: { name: '{{pick one none}}' },
            readBack: {
              target: 'other',
              path: '/by-id/{{response.items.0.id}}?name={{request.body.name}}&from={{request.path}}',
              headers: { 'x-location': '{{response.headers.location}}' },
            },
          },
        ],
        urlOf: { shop: url, other: `${otherUrl}/` },
        rps: 100,
        seed: 7,
      }),
      200,
    );
    const found = samples.filter((s) => s.readBack && 'path' in s.readBack);
    const lacking = samples.filter((s) => s.readBack && 'error' in s.readBack);
    expect(found.length).toBeGreaterThan(0);
    expect(lacking.length).toBeGreaterThan(0);
    expect(found.length + lacking.length).toBe(samples.length);
    for (const s of found)
      expect(s.readBack).toEqual({
        url: otherUrl,
        method: 'GET',
        headers: { 'x-location': '/things/one' },
        path: '/by-id/id-one?name=one&from=/things',
      });
    for (const s of lacking) expect(s.readBack).toEqual({ error: "the answer's body has no items.0.id" });
  });

  it('reads back from a body whose pieces end inside a character, or inside a word', async () => {
    // Chunked, each write one chunk: the first ends within the two bytes of "é", or (pieces ending
    // in ASCII, decoded as they come) after "caf".
    const split = Buffer.from(JSON.stringify({ id: 'café-7', note: 'x' }));
    const at = { inCharacter: split.indexOf(0xc3) + 1, inWord: split.indexOf(0xc3) };
    handle = (req, res) => {
      const cut = req.url?.endsWith('inWord') ? at.inWord : at.inCharacter;
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write(split.subarray(0, cut));
      setTimeout(() => res.end(split.subarray(cut)), 5);
    };
    const samples = await run(
      new LoadGenerator({
        requests: ['inCharacter', 'inWord'].map((where) => ({
          target: 'shop',
          path: `/${where}`,
          readBack: { path: '/orders/{{response.id}}/{{response.note}}' },
        })),
        urlOf: { shop: url },
        rps: 100,
      }),
      200,
    );
    expect(new Set(samples.map((s) => s.request))).toEqual(new Set([0, 1]));
    for (const s of samples) expect(readBackPath(s)).toBe('/orders/café-7/x');
  });

  it('refuses a mix it cannot send before sending anything', () => {
    const make =
      (requests: RequestSpec[], urlOf: Record<string, string> = { shop: url }) =>
      () =>
        new LoadGenerator({ requests, urlOf, rps: 10 });
    expect(make([{ target: 'elsewhere', path: '/' }])).toThrow(
      new UsageError('traffic.requests[0].target: no URL for target elsewhere'),
    );
    expect(make([{ target: 'shop', path: '/{{nope}}' }])).toThrow(
      new UsageError('traffic.requests[0].path: unknown placeholder {{nope}}'),
    );
    expect(make([{ target: 'shop', path: '/', readBack: { path: '/', expect: 'status = ' } }])).toThrow(
      UsageError,
    );
    expect(make([{ target: 'shop', path: '/', readBack: { path: '/', target: 'gone' } }])).toThrow(
      new UsageError('traffic.requests[0].readBack.target: no URL for target gone'),
    );
    // What HTTP/1.1 cannot carry, or what frames the connection, is refused up front, not per request.
    expect(make([{ target: 'shop', path: '/a b' }])).toThrow(
      new UsageError('traffic.requests[0].path: "/a b" cannot be sent as a path'),
    );
    expect(make([{ target: 'shop', path: '/', headers: { Connection: 'close' } }])).toThrow(
      new UsageError("traffic.requests[0].headers: Connection is the connection's to set"),
    );
    expect(make([{ target: 'shop', path: '/', headers: { 'X-A': 'line\nbreak' } }])).toThrow(
      new UsageError('traffic.requests[0].headers.X-A: "line\\nbreak" cannot be sent in a header'),
    );
    expect(make([{ target: 'shop', path: '/' }], { shop: 'ftp://127.0.0.1:21' })).toThrow(
      new UsageError('traffic.requests[0].target: "ftp://127.0.0.1:21" is not an http:// or https:// URL'),
    );
  });
});

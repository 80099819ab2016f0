// Read-backs against a real HTTP server on 127.0.0.1 that keeps what it acknowledged (or, told to,
// loses some of it), first with samples as the generator leaves them, then end to end.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UsageError } from '../errors.js';
import type { RequestSpec } from '../suite/schema.js';
import { LoadGenerator, type Sample } from './load.js';
import { checkReadBack } from './read-back.js';

let server: Server;
let url: string;
let handle: (req: IncomingMessage, res: ServerResponse, body: string) => void;

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

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const ORDER: RequestSpec = {
  target: 'shop',
  method: 'POST',
  path: '/orders',
  body: { product_id: 'PROD-001' },
  success: [201],
  idempotencyHeader: 'Idempotency-Key',
  readBack: { path: '/orders/{{response.id}}', expect: "status = 'confirmed'" },
};

/** An acknowledged order whose answer named `id`. */
const acked = (id: string, request = 0): Sample => ({
  dueAt: 0,
  completedAt: 1,
  latencyMs: 1,
  lagMs: 0,
  status: 201,
  attempts: 1,
  request,
  ok: true,
  readBack: { url, method: 'GET', headers: { 'x-tenant': 't1' }, path: `/orders/${id}` },
});

describe('checkReadBack', () => {
  it('passes when every acknowledged request reads back as expected, and counts only those', async () => {
    const seen: string[] = [];
    handle = (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-tenant']}`);
      json(res, 200, { status: 'confirmed' });
    };
    const failed = { ...acked('never'), ok: false, status: 503 };
    const other = { ...acked('other', 1), readBack: undefined };
    const result = await checkReadBack(
      [acked('a'), acked('b'), failed, other],
      [ORDER, { target: 'shop', path: '/health' }],
    );
    expect(result).toEqual({ acknowledged: 2, readBack: 2, missing: [], passed: true });
    expect(seen.sort()).toEqual(['GET /orders/a t1', 'GET /orders/b t1']);
  });

  it('names each one missing: not found, expectation false, not JSON, field absent from the answer', async () => {
    handle = (req, res) => {
      if (req.url === '/orders/gone') return json(res, 404, { error: 'no such order' });
      if (req.url === '/orders/pending') return json(res, 200, { status: 'pending' });
      if (req.url === '/orders/html') return res.writeHead(200).end('<html>');
      json(res, 200, { status: 'confirmed' });
    };
    const result = await checkReadBack(
      [
        acked('fine'),
        acked('gone'),
        acked('pending'),
        acked('html'),
        { ...acked('x'), readBack: { error: "the answer's body has no id" } },
      ],
      [ORDER],
    );
    expect(result).toMatchObject({ acknowledged: 5, readBack: 1, passed: false });
    expect(result.missing.sort()).toEqual([
      'GET /orders/gone: answered 404',
      "GET /orders/html: answered 200 without a JSON body for status = 'confirmed'",
      "GET /orders/pending: status = 'confirmed' is not true",
      "GET /orders/{{response.id}}: the answer's body has no id",
    ]);
  });

  it('tries again what got no answer, a 429 or a 5xx, a bounded number of times', async () => {
    const tries = new Map<string, number>();
    handle = (req, res) => {
      const n = (tries.get(String(req.url)) ?? 0) + 1;
      tries.set(String(req.url), n);
      if (req.url === '/orders/starting' && n <= 2) return json(res, 503, {});
      if (req.url === '/orders/busy' && n === 1) return json(res, 429, {});
      if (req.url === '/orders/cut' && n === 1) return res.socket?.destroy();
      if (req.url === '/orders/down') return json(res, 502, {});
      json(res, 200, { status: 'confirmed' });
    };
    const started = performance.now();
    const result = await checkReadBack(
      ['starting', 'busy', 'cut', 'down'].map((id) => acked(id)),
      [ORDER],
      { attempts: 3 },
    );
    expect(result).toEqual({
      acknowledged: 4,
      readBack: 3,
      missing: ['GET /orders/down: answered 502 after 3 tries'],
      passed: false,
    });
    expect(Object.fromEntries(tries)).toEqual({
      '/orders/starting': 3,
      '/orders/busy': 2,
      '/orders/cut': 2,
      '/orders/down': 3,
    });
    // Two waits of 200 ms between three tries.
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('takes its own success statuses, and without an expectation does not need a body', async () => {
    handle = (req, res) => res.writeHead(req.url === '/orders/a' ? 204 : 200).end();
    const mix: RequestSpec[] = [{ ...ORDER, readBack: { path: '/orders/{{response.id}}', success: [204] } }];
    const result = await checkReadBack([acked('a'), acked('b')], mix);
    expect(result).toEqual({
      acknowledged: 2,
      readBack: 1,
      missing: ['GET /orders/b: answered 200'],
      passed: false,
    });
  });

  it('reads at most `concurrency` at once and lists only the first 20 missing', async () => {
    let inFlight = 0;
    let most = 0;
    handle = (_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        json(res, 404, {});
      }, 10);
    };
    const result = await checkReadBack(
      Array.from({ length: 30 }, (_, i) => acked(`o${i}`)),
      [ORDER],
      { concurrency: 3 },
    );
    expect(most).toBe(3);
    expect(result).toMatchObject({ acknowledged: 30, readBack: 0, passed: false });
    expect(result.missing).toHaveLength(20);
  });

  it('refuses an expectation that is not JSONata, naming it', async () => {
    await expect(
      checkReadBack([], [{ ...ORDER, readBack: { path: '/x', expect: 'status = = 1' } }]),
    ).rejects.toThrow(UsageError);
    await expect(
      checkReadBack([], [{ ...ORDER, readBack: { path: '/x', expect: 'status = = 1' } }]),
    ).rejects.toThrow(
      /^traffic\.requests\[0\]\.readBack\.expect: "status = = 1" is not a JSONata expression/,
    );
  });
});

describe('traffic and its read-back, end to end', () => {
  it('finds every acknowledged order a shop lost, and nothing else', async () => {
    const orders = new Map<string, { status: string }>();
    let next = 0;
    handle = (req, res, body) => {
      if (req.method === 'POST' && req.url === '/orders') {
        const { product_id } = JSON.parse(body) as { product_id: string };
        const id = `o${next++}`;
        // Acknowledges every order but keeps none for PROD-003, and leaves PROD-002's pending.
        if (product_id !== 'PROD-003')
          orders.set(id, { status: product_id === 'PROD-002' ? 'pending' : 'confirmed' });
        return json(res, 201, { id, status: 'confirmed' });
      }
      const order = orders.get(String(req.url).replace('/orders/', ''));
      json(res, order ? 200 : 404, order ?? {});
    };
    const mix: RequestSpec[] = [
      { ...ORDER, body: { product_id: '{{pick PROD-001 PROD-002 PROD-003}}', quantity: 1 } },
      { target: 'shop', path: '/orders/none', success: [404] },
    ];
    const load = new LoadGenerator({ requests: mix, urlOf: { shop: url }, rps: 100, seed: 3 });
    load.start();
    await sleep(300);
    const samples = await load.stop();
    const result = await checkReadBack(samples, mix);
    const placed = samples.filter((s) => s.request === 0);
    expect(placed.length).toBeGreaterThanOrEqual(10);
    const lost = [...Array(next).keys()]
      .map((i) => `o${i}`)
      .filter((id) => orders.get(id)?.status !== 'confirmed');
    expect(lost.length).toBeGreaterThan(0);
    expect(result.acknowledged).toBe(placed.length);
    expect(result.readBack).toBe(placed.length - lost.length);
    expect(result.passed).toBe(false);
    expect(result.missing.length).toBe(Math.min(20, lost.length));
    for (const line of result.missing) {
      const id = /^GET \/orders\/(o\d+): /.exec(line)?.[1] ?? '';
      expect(lost).toContain(id);
      expect(line).toMatch(orders.has(id) ? /: status = 'confirmed' is not true$/ : /: answered 404$/);
    }
  });
});

// The HTTP probe against a real HTTP server on a free port.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../drivers/local/supervisor.js';
import { UsageError } from '../errors.js';
import type { HttpProbeSpec } from '../suite/schema.js';
import { HttpProbe } from './http-probe.js';

describe('HttpProbe', () => {
  let server: Server;
  let base = '';
  const pending = new Set<NodeJS.Timeout>();
  const targets: string[] = [];
  const urlOf = async (target: string) => {
    targets.push(target);
    return base;
  };
  const probe = (http: HttpProbeSpec, name = 'p') => new HttpProbe(name, http, 'probes[0]', urlOf);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/' || url.pathname === '/prefix/healthz')
          return json(200, { status: 'ok', path: url.pathname, stock: { a: 3, b: 4 }, items: [1, 2] });
        if (url.pathname === '/down') return json(503, { status: 'down' });
        if (url.pathname === '/text') return res.end('not json');
        if (url.pathname === '/echo')
          return json(200, {
            method: req.method,
            contentType: req.headers['content-type'] ?? null,
            token: req.headers['x-token'] ?? null,
            body: Buffer.concat(chunks).toString(),
          });
        if (url.pathname === '/slow') {
          const timer = setTimeout(
            () => {
              pending.delete(timer);
              json(200, { status: 'ok' });
            },
            Number(url.searchParams.get('ms')),
          );
          pending.add(timer);
          return;
        }
        json(404, {});
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const timer of pending) clearTimeout(timer);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes on any 2xx by default, at the URL the resolver gives its target', async () => {
    const reading = await probe({ target: 'checkout' }).read('before', undefined);
    expect(reading).toMatchObject({ ok: true, value: 200 });
    expect(reading.detail).toMatch(/^200 in \d+ ms$/);
    expect(targets).toContain('checkout');
  });

  it('fails on a status it was not told to accept, and passes on one it was', async () => {
    const down = await probe({ url: base, path: '/down' }).read('during', undefined);
    expect(down).toMatchObject({ ok: false, value: 503 });
    expect(down.detail).toMatch(/^answered 503 in \d+ ms, expected 2xx$/);
    expect(await probe({ url: base, path: '/down', status: [503] }).read('during', undefined)).toMatchObject({
      ok: true,
    });
  });

  it('joins the path to the base URL, and takes a URL without path as it is', async () => {
    const joined = probe({
      url: `${base}/prefix/`,
      path: '/healthz',
      json: { expression: 'path', equals: '/prefix/healthz' },
    });
    expect(await joined.read('during', undefined)).toMatchObject({ ok: true, value: '/prefix/healthz' });
    const whole = probe({
      url: `${base}/prefix/healthz`,
      json: { expression: 'path', equals: '/prefix/healthz' },
    });
    expect(await whole.read('during', undefined)).toMatchObject({ ok: true });
  });

  it('compares a JSONata expression over the body', async () => {
    const read = (json: NonNullable<HttpProbeSpec['json']>) =>
      probe({ target: 't', json }).read('during', undefined);
    expect(await read({ expression: 'stock.a + stock.b', equals: 7 })).toMatchObject({ ok: true, value: 7 });
    expect(await read({ expression: 'stock', equals: { b: 4, a: 3 } })).toMatchObject({ ok: true });
    const notOk = await read({ expression: 'status', notEquals: 'ok' });
    expect(notOk.ok).toBe(false);
    expect(notOk.detail).toMatch(/: read "ok", expected anything but "ok"$/);
    expect((await read({ expression: '$count(items)', above: 5 })).detail).toMatch(/: read 2, not above 5$/);
    expect((await read({ expression: 'status', below: 3 })).detail).toMatch(
      /: read "ok": not a number to compare \(below 3\)$/,
    );
    expect((await read({ expression: 'missing', equals: 1 })).detail).toMatch(/: read nothing, expected 1$/);
    const notJson = await probe({ url: base, path: '/text', json: { expression: 'a', equals: 1 } }).read(
      'during',
      undefined,
    );
    expect(notJson).toMatchObject({ ok: false });
    expect(notJson.detail).toMatch(/: the body is not JSON: "not json"$/);
  });

  it('sends a JSON body as application/json, a string body as it is, and its headers', async () => {
    const echo = (spec: Partial<HttpProbeSpec>) =>
      probe({
        url: base,
        path: '/echo',
        method: 'POST',
        json: { expression: '$', notEquals: null },
        ...spec,
      }).read('during', undefined);
    expect((await echo({ body: { sku: 'a', qty: 2 } })).value).toEqual({
      method: 'POST',
      contentType: 'application/json',
      token: null,
      body: '{"sku":"a","qty":2}',
    });
    expect(
      (await echo({ body: 'plain', headers: { 'x-token': 's3cret', 'content-type': 'text/plain' } })).value,
    ).toEqual({
      method: 'POST',
      contentType: 'text/plain',
      token: 's3cret',
      body: 'plain',
    });
  });

  it('fails an answer slower than maxLatency, and gives up at its timeout', async () => {
    const slow = await probe({ url: base, path: '/slow?ms=300', maxLatency: '100ms' }).read(
      'during',
      undefined,
    );
    expect(slow.ok).toBe(false);
    expect(slow.latencyMs).toBeGreaterThanOrEqual(290);
    expect(slow.detail).toMatch(/^200 in \d+ ms; slower than maxLatency 100 ms$/);
    const started = Date.now();
    const timedOut = await probe({ url: base, path: '/slow?ms=2000', timeout: '200ms' }).read(
      'during',
      undefined,
    );
    expect(timedOut).toMatchObject({ ok: false, detail: 'no answer within 200 ms' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('fails with the reason when nothing listens', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const refused = await probe({ url: closed }).read('during', undefined);
    expect(refused).toMatchObject({ ok: false, detail: `connect ECONNREFUSED ${closed.slice(7)}` });
  });

  it('unchanged: records before the fault, then passes only on the same value', async () => {
    const stock = probe({ target: 't', json: { expression: 'stock', unchanged: true } });
    const before = await stock.read('before', undefined);
    expect(before).toMatchObject({ ok: true, value: { a: 3, b: 4 } });
    expect(await stock.read('after', { value: before.value })).toMatchObject({ ok: true });
    const changed = await stock.read('after', { value: { a: 3, b: 5 } });
    expect(changed.ok).toBe(false);
    expect(changed.detail).toMatch(/: read \{"a":3,"b":4\}, before the fault \{"a":3,"b":5\}$/);
    expect((await stock.read('after', undefined)).detail).toMatch(
      /nothing was read before the fault to compare with$/,
    );
  });

  it('refuses a bad expression, naming the probe, and a probe with both or neither of target and url', () => {
    expect(() => probe({ target: 't', json: { expression: 'stock.(', equals: 1 } }, 'stock')).toThrow(
      new UsageError(
        'probes[0].http.json.expression of probe "stock": Expected ")" before end of expression',
      ),
    );
    expect(() => probe({ target: 't', url: base })).toThrow(
      new UsageError('probes[0].http: give exactly one of target, url'),
    );
    expect(() => probe({})).toThrow(UsageError);
    expect(() => probe({ target: 't', json: { expression: 'a' } })).toThrow(
      new UsageError(
        'probes[0].http.json: give exactly one of equals, notEquals, below, atMost, above, atLeast, unchanged',
      ),
    );
  });
});

// Every test talks to a real node:http server on loopback: the policies act on real sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Downstream, type DownstreamOptions } from './downstream.js';
import { DownstreamRequestError, DownstreamUnavailableError } from './errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Server[] = [];
const clients: Downstream[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** A server answering with `handler`; `hits` counts requests that reached it. */
async function serve(handler: Handler) {
  const state = { hits: 0, handler };
  const server = createServer((req, res) => {
    state.hits++;
    state.handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

function client(baseUrl: string, overrides: Partial<DownstreamOptions> = {}) {
  const downstream = new Downstream({
    name: 'peer',
    baseUrl,
    timeoutMs: 300,
    retries: 2,
    retryBaseDelayMs: 10,
    breakerThreshold: 3,
    breakerHalfOpenAfterMs: 200,
    ...overrides,
  });
  clients.push(downstream);
  return downstream;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as DownstreamUnavailableError,
  );

describe('Downstream', () => {
  it('sends JSON and parses the JSON answer', async () => {
    const server = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () =>
        json(201, { echoed: JSON.parse(body), type: req.headers['content-type'] })(req, res),
      );
    });
    const reply = await client(server.url).request({ method: 'POST', path: '/things', body: { a: 1 } });
    expect(reply).toMatchObject({ status: 201, body: { echoed: { a: 1 }, type: 'application/json' } });
  });

  it('returns 4xx answers without retrying or counting them as failures', async () => {
    const server = await serve(json(409, { title: 'Conflict' }));
    const peer = client(server.url, { breakerThreshold: 1 });
    for (let i = 0; i < 3; i++) {
      expect((await peer.request({ method: 'GET', path: '/x' })).status).toBe(409);
    }
    expect(server.hits).toBe(3);
    expect(peer.state).toBe('closed');
  });

  it('never retries a POST that is not marked idempotent', async () => {
    const server = await serve(json(503, {}));
    const error = await failure(client(server.url).request({ method: 'POST', path: '/x', body: {} }));
    expect(error).toBeInstanceOf(DownstreamUnavailableError);
    expect(error).toMatchObject({ reason: 'server-error', status: 503 });
    expect(server.hits).toBe(1);
  });

  it('treats 429 as the downstream being overloaded: retried and counted', async () => {
    const server = await serve(json(429, {}));
    const peer = client(server.url, { retries: 1, breakerThreshold: 2 });
    expect(await failure(peer.request({ method: 'GET', path: '/' }))).toMatchObject({
      reason: 'overloaded',
      status: 429,
    });
    expect(server.hits).toBe(2);
    expect(peer.state).toBe('open');
  });

  it('reports a request undici refuses to send as our bug, not an outage', async () => {
    const server = await serve(json(200, {}));
    const peer = client(server.url, { retries: 2, breakerThreshold: 1 });
    const bad = { method: 'GET' as const, path: '/', headers: { 'x-request-id': 'a\r\nb' } };
    for (let i = 0; i < 3; i++) {
      await expect(peer.request(bad)).rejects.toBeInstanceOf(DownstreamRequestError);
    }
    expect(peer.state).toBe('closed');
    expect(server.hits).toBe(0);
    expect((await peer.request({ method: 'GET', path: '/' })).status).toBe(200);
  });

  it('retries idempotent calls with backoff until one succeeds', async () => {
    const server = await serve((req, res) => json(server.hits < 3 ? 502 : 200, { ok: true })(req, res));
    const reply = await client(server.url).request({
      method: 'POST',
      path: '/x',
      body: {},
      idempotent: true,
    });
    expect(reply.status).toBe(200);
    expect(server.hits).toBe(3);
  });

  it('gives up after the configured retries', async () => {
    const server = await serve(json(500, {}));
    await failure(
      client(server.url, { retries: 2, breakerThreshold: 10 }).request({ method: 'GET', path: '/x' }),
    );
    expect(server.hits).toBe(3);
  });

  it('times out an attempt that gets no answer', async () => {
    const server = await serve(() => {}); // never answers
    const started = performance.now();
    const error = await failure(client(server.url, { retries: 0 }).request({ method: 'GET', path: '/slow' }));
    const elapsed = performance.now() - started;
    expect(error.reason).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
  });

  it('reports a refused connection', async () => {
    const server = await serve(json(200, {}));
    const url = server.url;
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
    const error = await failure(client(url, { retries: 0 }).request({ method: 'GET', path: '/' }));
    expect(error.reason).toBe('connection');
  });

  it('opens after consecutive failures, fails fast, half-opens, and closes on a good trial', async () => {
    const server = await serve(json(500, {}));
    const logged: Array<[string, object]> = [];
    const logger = {
      warn: (obj: object) => logged.push(['warn', obj]),
      info: (obj: object) => logged.push(['info', obj]),
    };
    const peer = client(server.url, { retries: 0, logger });
    const states: string[] = [];
    peer.onStateChange((state) => states.push(state));

    for (let i = 0; i < 3; i++) await failure(peer.request({ method: 'GET', path: '/' }));
    expect(peer.state).toBe('open');
    expect(server.hits).toBe(3);

    const started = performance.now();
    const fast = await failure(peer.request({ method: 'GET', path: '/' }));
    expect(performance.now() - started).toBeLessThan(50);
    expect(fast).toMatchObject({ reason: 'circuit-open', retryAfterSeconds: 1 });
    expect(server.hits).toBe(3);

    server.handler = json(200, { ok: true });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await peer.request({ method: 'GET', path: '/' })).status).toBe(200);
    expect(peer.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(logged).toEqual([
      ['warn', { downstream: 'peer', state: 'open' }],
      ['info', { downstream: 'peer', state: 'half-open' }],
      ['info', { downstream: 'peer', state: 'closed' }],
    ]);
  });

  it('re-opens when the half-open trial fails', async () => {
    const server = await serve(json(500, {}));
    const peer = client(server.url, { retries: 0, breakerThreshold: 1 });
    const states: string[] = [];
    peer.onStateChange((state) => states.push(state));
    await failure(peer.request({ method: 'GET', path: '/' }));
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await failure(peer.request({ method: 'GET', path: '/' }))).toMatchObject({
      reason: 'server-error',
    });
    expect(peer.state).toBe('open');
    expect(states).toEqual(['open', 'half-open', 'open']);
    expect((await failure(peer.request({ method: 'GET', path: '/' }))).reason).toBe('circuit-open');
    expect(server.hits).toBe(2);
  });

  it('stops notifying a listener once unsubscribed, and survives one that throws', async () => {
    const server = await serve(json(500, {}));
    const peer = client(server.url, { retries: 0, breakerThreshold: 1 });
    const states: string[] = [];
    const unsubscribe = peer.onStateChange((state) => states.push(state));
    peer.onStateChange(() => {
      throw new Error('listener bug');
    });
    unsubscribe();
    expect((await failure(peer.request({ method: 'GET', path: '/' }))).reason).toBe('server-error');
    expect(peer.state).toBe('open');
    expect(states).toEqual([]);
  });

  it('does not retry through an open breaker', async () => {
    const server = await serve(json(500, {}));
    const peer = client(server.url, { retries: 5, breakerThreshold: 2, breakerHalfOpenAfterMs: 10_000 });
    const error = await failure(peer.request({ method: 'GET', path: '/' }));
    expect(error.reason).toBe('circuit-open');
    expect(error.retryAfterSeconds).toBe(10);
    expect(server.hits).toBe(2);
  });

  it('reuses keep-alive connections', async () => {
    const sockets = new Set<unknown>();
    const server = await serve((req, res) => {
      sockets.add(req.socket);
      json(200, {})(req, res);
    });
    const peer = client(server.url);
    for (let i = 0; i < 10; i++) await peer.request({ method: 'GET', path: '/' });
    expect(server.hits).toBe(10);
    // The pool may open a second connection while the first is being handed back, not one per call.
    expect(sockets.size).toBeLessThanOrEqual(2);
  });

  it('closes its pooled connections on close()', async () => {
    const server = await serve(json(200, {}));
    const peer = client(server.url);
    await peer.request({ method: 'GET', path: '/' });
    const open = () =>
      new Promise<number>((resolve, reject) =>
        servers[0]?.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
    expect(await open()).toBe(1);
    await peer.close();
    for (let i = 0; i < 50 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).toBe(0);
    await expect(peer.request({ method: 'GET', path: '/' })).rejects.toThrow();
    expect(server.hits).toBe(1);
  });
});

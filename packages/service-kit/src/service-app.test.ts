import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { loadConfig, serviceConfigSchema } from './config.js';
import { HttpProblem } from './problem.js';
import { createServiceApp } from './service-app.js';

const config = loadConfig(serviceConfigSchema(5999, {}), { LOAD_SHED_RETRY_AFTER_S: '2' });

let app: FastifyInstance;
afterEach(() => app?.close());

/** Requests to GET /hold wait here until the test lets them go. */
let held: Array<() => void> = [];

async function build(
  opts: { ready?: () => Promise<void>; heapRatio?: number; env?: Record<string, string> } = {},
) {
  held = [];
  app = await createServiceApp({
    config: {
      ...loadConfig(serviceConfigSchema(5999, {}), { LOAD_SHED_RETRY_AFTER_S: '2', ...opts.env }),
      LOAD_SHED_MAX_HEAP_RATIO: opts.heapRatio ?? config.LOAD_SHED_MAX_HEAP_RATIO,
    },
    logger: false,
    readiness: [opts.ready ?? (async () => {})],
    routes: async (routes) => {
      routes.post(
        '/things',
        {
          schema: {
            body: Type.Object({ name: Type.String({ minLength: 1 }), count: Type.Integer({ minimum: 1 }) }),
          },
        },
        async (request) => ({ received: request.body }),
      );
      routes.get('/teapot', async () => {
        throw new HttpProblem({ status: 418, title: "I'm a teapot", type: 'teapot', extensions: { pot: 1 } });
      });
      routes.get('/boom', async () => {
        throw new Error('secret internals');
      });
      routes.get('/things/:id', async (request) => request.params);
      routes.get('/hold', async () => {
        await new Promise<void>((resolve) => held.push(resolve));
        return { held: true };
      });
    },
  });
  await app.ready();
  return app;
}

const post = (payload: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/things',
    payload,
    headers: { 'content-type': 'application/json', ...headers },
  });

describe('createServiceApp', () => {
  it('answers liveness and readiness', async () => {
    await build();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('is unready when a readiness check fails or shutdown has begun', async () => {
    let healthy = false;
    await build({
      ready: async () => {
        if (!healthy) throw new Error('database unreachable');
      },
    });
    const unready = await app.inject('/readyz');
    expect(unready.statusCode).toBe(503);
    expect(unready.json()).toMatchObject({ reason: 'database unreachable' });
    healthy = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    app.lifecycle.shuttingDown = true;
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'shutting-down' });
    const live = await app.inject('/healthz');
    expect(live.statusCode).toBe(200);
    // Draining: clients are told not to reuse the connection.
    expect(live.headers.connection).toBe('close');
  });

  it('validates bodies and answers problem+json listing every error', async () => {
    await build();
    const res = await post(JSON.stringify({ name: '', count: '2' }));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ status: 400, type: 'https://chaos-platform.dev/problems/validation' });
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/count', '/name']);
  });

  it.each([
    ['malformed JSON', '{"name":', {}, 400],
    ['a body over the limit', JSON.stringify({ name: 'x'.repeat(20_000), count: 1 }), {}, 413],
    ['an unsupported media type', 'name=x', { 'content-type': 'application/xml' }, 415],
  ])('rejects %s with a 4xx problem', async (_what, payload, headers, status) => {
    await build();
    const res = await post(payload, headers);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ status });
  });

  it.each([
    [
      'a charset other than UTF-8',
      '{"name":"a","count":1}',
      { 'content-type': 'application/json; charset=utf-16' },
      415,
      'unsupported-charset',
    ],
    ['a __proto__ key', '{"name":"a","count":1,"__proto__":{"admin":true}}', {}, 400, 'forbidden-property'],
    [
      'a constructor.prototype key',
      '{"name":"a","count":1,"constructor":{"prototype":{}}}',
      {},
      400,
      'forbidden-property',
    ],
    ['an empty body', '', {}, 400, 'malformed-json'],
    ['malformed JSON', '{"name":', {}, 400, 'malformed-json'],
    [
      'a body over the limit',
      JSON.stringify({ name: 'x'.repeat(20_000), count: 1 }),
      {},
      413,
      'content-too-large',
    ],
  ])('names %s in a stable problem type', async (_what, payload, headers, status, type) => {
    await build();
    const res = await post(payload, headers);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status, type: `https://chaos-platform.dev/problems/${type}` });
    expect(res.body).not.toMatch(/FST_/);
  });

  it('accepts JSON declared as UTF-8', async () => {
    await build();
    const res = await post('{"name":"a","count":1}', { 'content-type': 'application/json; charset=UTF-8' });
    expect(res.statusCode).toBe(200);
  });

  it.each([
    ['bad percent-encoding', '/things/%zz', 400, 'bad-url'],
    ['an over-long path parameter', `/things/${'x'.repeat(101)}`, 414, 'uri-too-long'],
    ['an unknown route', '/nowhere', 404, 'not-found'],
  ])("answers %s with a problem, not Fastify's default body", async (_what, url, status, type) => {
    await build();
    const res = await app.inject(url);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status, type: `https://chaos-platform.dev/problems/${type}` });
    expect(res.body).not.toMatch(/FST_/);
  });

  it('renders thrown problems and hides unexpected errors behind a 500', async () => {
    await build();
    const teapot = await app.inject('/teapot');
    expect(teapot.statusCode).toBe(418);
    expect(teapot.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/teapot', pot: 1 });
    const boom = await app.inject('/boom');
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret internals');
  });

  it('answers unknown routes with a 404 problem', async () => {
    await build();
    const res = await app.inject('/nope?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ detail: 'no route for GET /nope' });
  });

  it('echoes a valid caller request id, and replaces a missing, oversized or odd one', async () => {
    await build();
    const idFor = async (headers: Record<string, string>) =>
      (await app.inject({ url: '/healthz', headers })).headers['x-request-id'];
    expect(await idFor({ 'x-request-id': 'abc-123' })).toBe('abc-123');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(await idFor({})).toMatch(uuid);
    expect(await idFor({ 'x-request-id': 'x'.repeat(129) })).toMatch(uuid);
    expect(await idFor({ 'x-request-id': '<script>' })).toMatch(uuid);
    expect(await idFor({ 'x-request-id': 'a b' })).toMatch(uuid);
  });

  it('names the instance that answered: POD_NAME, else host:port', async () => {
    await build({ env: { POD_NAME: 'order-service-7d9f-abcde' } });
    expect((await app.inject('/healthz')).headers['x-served-by']).toBe('order-service-7d9f-abcde');
    expect((await app.inject('/nowhere')).headers['x-served-by']).toBe('order-service-7d9f-abcde');
    await app.close();
    await build();
    expect((await app.inject('/healthz')).headers['x-served-by']).toBe(`${hostname()}:5999`);
  });

  it('admits a bounded number of requests, queues a few briefly, and sheds the rest at once', async () => {
    await build({
      env: { ADMISSION_MAX_IN_FLIGHT: '2', ADMISSION_MAX_QUEUE: '1', ADMISSION_MAX_QUEUE_WAIT_MS: '200' },
    });
    // inject() dispatches only once its result is awaited or then-ed: start each one now, in order.
    const start = (url: string) => app.inject(url).then((res) => res);
    const running = [start('/hold'), start('/hold')];
    const queued = start('/hold');
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A queue within its bounds is not saturation (background work keeps its pace); a shed is.
    expect(app.load.saturated()).toBe(false);
    const full = await app.inject('/hold');
    expect(full.statusCode).toBe(503);
    expect(app.load.saturated()).toBe(true);
    expect(full.headers['retry-after']).toBe('2');
    expect(full.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/overloaded' });
    // Probes and metrics are outside admission control: they answer while business routes are full.
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);

    const timedOut = await queued;
    expect(timedOut.statusCode).toBe(503);
    expect(timedOut.json().detail).toMatch(/within 200 ms/);
    // Queued within a second of a refusal (the full queue above), a request waits 100 ms at most.
    const shortWait = await app.inject('/hold');
    expect(shortWait.statusCode).toBe(503);
    expect(shortWait.json().detail).toMatch(/within 100 ms/);

    // A freed slot goes to the next waiter.
    const next = start('/hold');
    await new Promise((resolve) => setTimeout(resolve, 20));
    held.shift()?.();
    expect((await running[0])?.statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held).toHaveLength(2);
    for (const release of held.splice(0)) release();
    expect((await next).statusCode).toBe(200);
    expect((await running[1])?.statusCode).toBe(200);

    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/http_load_shed_total\{reason="queueFull"\} 1/);
    expect(metrics).toMatch(/http_load_shed_total\{reason="queueTimeout"\} 2/);
    expect(metrics).toMatch(/http_requests_in_flight 0/);
  });

  it('sheds business routes under pressure but keeps probes and metrics answering', async () => {
    // A heap limit of 1e-9 of the maximum is always exceeded.
    await build({ heapRatio: 1e-9 });
    // Pressure is sampled every 500 ms; give it a tick.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const shed = await post(JSON.stringify({ name: 'a', count: 1 }));
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('2');
    expect(shed.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/overloaded' });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    const metrics = await app.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/http_load_shed_total\{reason="heapUsedBytes"\} 1/);
  });

  it('exposes per-route HTTP histograms', async () => {
    await build();
    await post(JSON.stringify({ name: 'a', count: 1 }));
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/route="\/things"/);
    expect(metrics).not.toMatch(/route="\/healthz"/);
  });
});

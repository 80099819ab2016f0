import { afterEach, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { HttpProblem } from './problem.js';
import { createServiceApp } from './service-app.js';

const config = {
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: 1000,
  LOAD_SHED_MAX_HEAP_RATIO: 0.9,
  LOAD_SHED_RETRY_AFTER_S: 2,
};

let app: FastifyInstance;
afterEach(() => app?.close());

async function build(opts: { ready?: () => Promise<void>; heapRatio?: number } = {}) {
  app = await createServiceApp({
    config: { ...config, LOAD_SHED_MAX_HEAP_RATIO: opts.heapRatio ?? config.LOAD_SHED_MAX_HEAP_RATIO },
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

  it('echoes the caller request id, or makes one', async () => {
    await build();
    expect(
      (await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } })).headers['x-request-id'],
    ).toBe('abc-123');
    expect((await app.inject('/healthz')).headers['x-request-id']).toEqual(expect.any(String));
  });

  it('sheds business routes under pressure but keeps probes and metrics answering', async () => {
    // A heap limit of 1e-9 of the maximum is always exceeded.
    await build({ heapRatio: 1e-9 });
    // under-pressure samples on an interval; give it one tick.
    await new Promise((resolve) => setTimeout(resolve, 1100));
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

import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createLogger, type RequestLogConfig, requestIdOptions, requestLogController } from './logger.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** An app logging as a service does, into `lines`, with routes for each kind of outcome. */
async function appLoggingTo(lines: Array<Record<string, unknown>>, config: RequestLogConfig) {
  const destination = { write: (line: string) => void lines.push(JSON.parse(line)) };
  // Typed as the services pass it to Fastify (createServiceApp's `logger`).
  const logger: FastifyBaseLogger = createLogger('info', 'test-service', destination);
  app = Fastify({
    loggerInstance: logger,
    ...requestIdOptions(),
    logController: requestLogController(config),
  });
  app.get('/fast', async () => ({ ok: true }));
  app.get('/slow', async () => {
    await sleep(60);
    return { ok: true };
  });
  app.get('/missing', async (_request, reply) => reply.code(404).send({ missing: true }));
  app.get('/shed', async (_request, reply) => reply.code(503).send({ shed: true }));
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  await app.ready();
  return app;
}

const requestLines = (lines: Array<Record<string, unknown>>) =>
  lines.filter((line) => 'responseTime' in line);

describe('request logging', () => {
  it('logs no line for fast successful or client-error requests by default', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const server = await appLoggingTo(lines, { LOG_SLOW_REQUEST_MS: 1000, LOG_REQUEST_SAMPLE_RATE: 0 });
    for (let i = 0; i < 20; i++) expect((await server.inject('/fast')).statusCode).toBe(200);
    expect((await server.inject('/missing')).statusCode).toBe(404);
    expect(lines).toEqual([]);
  });

  it('always logs server errors and slow requests, one line each with method, URL, status and time', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const server = await appLoggingTo(lines, { LOG_SLOW_REQUEST_MS: 40, LOG_REQUEST_SAMPLE_RATE: 0 });
    await server.inject({ url: '/boom', headers: { 'x-request-id': 'req-boom' } });
    await server.inject('/shed');
    await server.inject('/slow');
    await server.inject('/fast');
    expect(requestLines(lines)).toEqual([
      expect.objectContaining({
        level: 50,
        service: 'test-service',
        request_id: 'req-boom',
        req: expect.objectContaining({ method: 'GET', url: '/boom' }),
        res: { statusCode: 500 },
        msg: 'request failed',
      }),
      expect.objectContaining({ level: 40, res: { statusCode: 503 }, msg: 'request failed' }),
      expect.objectContaining({
        level: 40,
        req: expect.objectContaining({ url: '/slow' }),
        res: { statusCode: 200 },
        msg: 'slow request',
      }),
    ]);
    expect(requestLines(lines)[2]?.responseTime).toBeGreaterThanOrEqual(40);
  });

  it('logs every request at info, and no incoming-request line, with a sample rate of 1', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const server = await appLoggingTo(lines, { LOG_SLOW_REQUEST_MS: 0, LOG_REQUEST_SAMPLE_RATE: 1 });
    await server.inject('/fast');
    await server.inject('/missing');
    await server.inject('/slow');
    expect(
      lines.map((line) => [line.level, line.msg, (line.res as { statusCode: number }).statusCode]),
    ).toEqual([
      [30, 'request completed', 200],
      [30, 'request completed', 404],
      [30, 'request completed', 200],
    ]);
  });
});

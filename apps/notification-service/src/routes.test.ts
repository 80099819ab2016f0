// The routes against a real SMTP server (smtp-server on loopback) and an SQLite database.
import type { AddressInfo } from 'node:net';
import { ConfigError } from '@chaos-platform/service-kit';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import {
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { buildApp } from './app.js';
import { readConfig } from './config.js';
import { logMailer, type Mailer, smtpMailer } from './mailer.js';
import { migrations } from './migrations.js';

// A busy CI machine lags every event loop; these tests are not about load shedding.
const testEnv = { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' };

interface Received {
  to: string[];
  data: string;
}

/** A real SMTP server that keeps what it receives. */
async function startSmtp(port = 0) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address), data });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.server.address() as AddressInfo;
  return {
    received,
    port: address.port,
    url: `smtp://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const request = { order_id: 'order-1', email: 'buyer@example.com', product_id: 'PROD-001', quantity: 2 };

let store: TestDatabase;
let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined;
let mailer: Mailer;
let app: FastifyInstance;

const build = async (withMailer: Mailer) => {
  await app?.close();
  mailer = withMailer;
  app = await buildApp({ config: readConfig(testEnv), db: store.db, mailer, logger: false });
};

beforeEach(async () => {
  store = await openTestDatabase('sqlite', migrations);
  smtp = await startSmtp();
  await build(smtpMailer(smtp.url, 'shop <shop@example.com>', 1000));
});

afterEach(async () => {
  await app.close();
  await mailer.close();
  await smtp?.close();
  await store.cleanup();
});

const post = (body: unknown) =>
  app.inject({ method: 'POST', url: '/notifications', payload: body as object });

describe('POST /notifications', () => {
  it('stores the notification and sends the e-mail once', async () => {
    const first = await post(request);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ ...request, status: 'sent', attempts: 1 });
    expect(smtp?.received).toHaveLength(1);
    expect(smtp?.received[0]?.to).toEqual(['buyer@example.com']);
    expect(smtp?.received[0]?.data).toContain('Subject: Order order-1 confirmed');

    const again = await post(request);
    expect(again.statusCode).toBe(200);
    expect(smtp?.received).toHaveLength(1);
    expect((await app.inject('/notifications/order-1')).json()).toMatchObject({ status: 'sent' });
  });

  it('refuses a different notification for the same order', async () => {
    await post(request);
    const res = await post({ ...request, quantity: 3 });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/notification-mismatch' });
  });

  it('keeps the notification when the SMTP server is down and sends it on a retry', async () => {
    const port = smtp?.port ?? 0;
    await smtp?.close();
    const down = await post(request);
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect((await app.inject('/notifications/order-1')).json()).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: expect.any(String),
    });

    smtp = await startSmtp(port);
    await mailer.close();
    await build(smtpMailer(smtp.url, 'shop <shop@example.com>', 1000));
    const retried = await post(request);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(smtp.received).toHaveLength(1);
  });

  it('logs the e-mail instead when no SMTP server is configured', async () => {
    const lines: object[] = [];
    await mailer.close();
    await build(logMailer({ info: (obj) => lines.push(obj) }, 'shop@example.com'));
    expect((await post(request)).statusCode).toBe(201);
    expect(lines).toEqual([{ mail: expect.objectContaining({ to: 'buyer@example.com' }) }]);
  });

  it.each([
    ['a missing email', { ...request, email: undefined }],
    ['an invalid email', { ...request, email: 'nope' }],
    ['a negative quantity', { ...request, quantity: -1 }],
    ['a quantity as a string', { ...request, quantity: '2' }],
    ['an order id with slashes', { ...request, order_id: 'a/b' }],
  ])('rejects %s with 400', async (_what, body) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('rejects malformed JSON and huge bodies with 4xx', async () => {
    const malformed = await app.inject({
      method: 'POST',
      url: '/notifications',
      headers: { 'content-type': 'application/json' },
      payload: '{"order_id":',
    });
    expect(malformed.statusCode).toBe(400);
    expect((await post({ ...request, email: `${'a'.repeat(20_000)}@example.com` })).statusCode).toBe(413);
  });

  it('counts outcomes in notifications_total', async () => {
    await post(request);
    await post(request);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toMatch(/notifications_total\{outcome="sent"\} 1/);
    expect(metrics).toMatch(/notifications_total\{outcome="duplicate"\} 1/);
  });
});

describe('GET /notifications/:order_id', () => {
  it('404s an unknown order', async () => {
    expect((await app.inject('/notifications/none')).statusCode).toBe(404);
  });
});

describe('readConfig', () => {
  it('rejects an SMTP_URL that is not smtp:// or smtps://', () => {
    expect(() => readConfig({ SMTP_URL: 'http://mail' })).toThrow(ConfigError);
    expect(() => readConfig({ SMTP_URL: 'http://mail' })).toThrow(/SMTP_URL/);
  });
});

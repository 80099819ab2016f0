// The routes against a real SMTP server (smtp-server on loopback) and an SQLite database.
import type { AddressInfo } from 'node:net';
import { ConfigError } from '@chaos-platform/service-kit';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import {
  backends,
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { buildApp } from './app.js';
import { readConfig } from './config.js';
import { logMailer, type Mailer, smtpMailer } from './mailer.js';
import { migrations } from './migrations.js';
import { MAX_BATCH } from './routes.js';

// A busy CI machine lags every event loop; these tests are not about load shedding.
const testEnv = { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' };
const FROM = 'shop <shop@example.com>';

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
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let mailer: Mailer | undefined;
let app: FastifyInstance | undefined;

/** A fresh app on the same database; without a mailer it builds the one `env` configures. */
const build = async (withMailer: Mailer | undefined, env: Record<string, string> = {}) => {
  await app?.close();
  await mailer?.close();
  mailer = withMailer;
  const config = readConfig({ ...testEnv, ...env });
  app = await buildApp({
    config,
    db: store.db,
    ...(withMailer ? { mailer: withMailer } : {}),
    logger: false,
  });
  return app;
};

beforeEach(async () => {
  store = await openTestDatabase('sqlite', migrations);
  smtp = await startSmtp();
  await build(smtpMailer(smtp.url, FROM, 1000));
});

afterEach(async () => {
  await app?.close();
  await mailer?.close();
  app = undefined;
  mailer = undefined;
  await smtp.close();
  await store.cleanup();
});

const post = (body: unknown) =>
  (app as FastifyInstance).inject({ method: 'POST', url: '/notifications', payload: body as object });
const get = (orderId: string) => (app as FastifyInstance).inject(`/notifications/${orderId}`);

describe('POST /notifications', () => {
  it('stores the notification and sends the e-mail once', async () => {
    const first = await post(request);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ ...request, status: 'sent', attempts: 1 });
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]?.to).toEqual(['buyer@example.com']);
    expect(smtp.received[0]?.data).toContain('Subject: Order order-1 confirmed');
    expect(smtp.received[0]?.data).toContain('2 x PROD-001');

    const again = await post(request);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(smtp.received).toHaveLength(1);
  });

  it('refuses a different notification for the same order and sends nothing more', async () => {
    await post(request);
    const res = await post({ ...request, quantity: 3 });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/notification-mismatch' });
    expect((await post({ ...request, email: 'other@example.com' })).statusCode).toBe(422);
    expect(smtp.received).toHaveLength(1);
    expect((await get('order-1')).json()).toMatchObject({ quantity: 2, email: 'buyer@example.com' });
  });

  it('drops properties it does not know', async () => {
    const res = await post({ ...request, coupon: 'FREE' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).not.toHaveProperty('coupon');
  });

  // The retry answers 200, not 201: 201 belongs to the call that stored the notification, and the
  // body's status (sent) is what tells the caller the e-mail went out.
  it('keeps the notification when the SMTP server is down and sends it on a retry', async () => {
    const port = smtp.port;
    await smtp.close();
    const down = await post(request);
    expect(down.statusCode).toBe(503);
    expect(down.headers['content-type']).toMatch(/problem\+json/);
    expect(down.headers['retry-after']).toBe('5');
    expect((await get('order-1')).json()).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: expect.any(String),
      sent_at: null,
    });

    smtp = await startSmtp(port);
    await build(smtpMailer(smtp.url, FROM, 1000));
    const retried = await post(request);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]?.to).toEqual(['buyer@example.com']);
  });

  it('sends through the SMTP server SMTP_URL names when given no mailer', async () => {
    await build(undefined, { SMTP_URL: smtp.url, SMTP_TIMEOUT_MS: '1000' });
    expect((await post(request)).statusCode).toBe(201);
    expect(smtp.received.map((mail) => mail.to)).toEqual([['buyer@example.com']]);
  });

  it('logs the e-mail instead when SMTP_URL is unset (the local default)', async () => {
    await build(undefined);
    const res = await post(request);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'sent' });
    expect(smtp.received).toHaveLength(0);
  });

  it('writes the recipient and subject to the log in the log mailer', async () => {
    const lines: object[] = [];
    await build(logMailer({ info: (obj) => lines.push(obj) }, 'shop@example.com'));
    expect((await post(request)).statusCode).toBe(201);
    expect(lines).toEqual([
      { mail: expect.objectContaining({ to: 'buyer@example.com', subject: 'Order order-1 confirmed' }) },
    ]);
  });

  it.each([
    ['a missing email', { ...request, email: undefined }],
    ['an invalid email', { ...request, email: 'nope' }],
    ['a negative quantity', { ...request, quantity: -1 }],
    ['a zero quantity', { ...request, quantity: 0 }],
    ['a quantity as a string', { ...request, quantity: '2' }],
    ['a missing product id', { ...request, product_id: undefined }],
    ['a product id with a NUL byte', { ...request, product_id: 'PROD\u0000001' }],
    ['a product id with markup', { ...request, product_id: '<script>' }],
    ['a product id longer than order-service accepts', { ...request, product_id: 'P'.repeat(65) }],
    ['a quantity larger than order-service accepts', { ...request, quantity: 1001 }],
    ['an email with a line break', { ...request, email: 'a@example.com\r\nBcc: x@example.com' }],
    ['an empty order id', { ...request, order_id: '' }],
    ['an order id with slashes', { ...request, order_id: 'a/b' }],
  ])('rejects %s with 400 and sends nothing', async (_what, body) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(smtp.received).toHaveLength(0);
  });

  it('rejects malformed JSON and bodies over 16 KiB with 4xx problems', async () => {
    const malformed = await (app as FastifyInstance).inject({
      method: 'POST',
      url: '/notifications',
      headers: { 'content-type': 'application/json' },
      payload: '{"order_id":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toMatch(/problem\+json/);
    const huge = await post({ ...request, email: `${'a'.repeat(20_000)}@example.com` });
    expect(huge.statusCode).toBe(413);
    expect(huge.headers['content-type']).toMatch(/problem\+json/);
    expect(smtp.received).toHaveLength(0);
  });

  it('counts outcomes in notifications_total', async () => {
    await post(request);
    await post(request);
    await smtp.close();
    await post({ ...request, order_id: 'order-2' });
    const metrics = (await (app as FastifyInstance).inject('/metrics')).body;
    expect(metrics).toMatch(/notifications_total\{outcome="sent"\} 1/);
    expect(metrics).toMatch(/notifications_total\{outcome="duplicate"\} 1/);
    expect(metrics).toMatch(/notifications_total\{outcome="failed"\} 1/);
  });
});

describe.each(backends)('POST /notifications/batch on %s', (backend) => {
  beforeEach(async () => {
    await app?.close();
    await store.cleanup();
    store = await openTestDatabase(backend, migrations);
    await build(smtpMailer(smtp.url, FROM, 1000));
  });

  const postBatch = (notifications: unknown) =>
    (app as FastifyInstance).inject({
      method: 'POST',
      url: '/notifications/batch',
      payload: { notifications } as object,
    });
  const orders = (count: number, from = 1) =>
    Array.from({ length: count }, (_, i) => ({ ...request, order_id: `order-${from + i}` }));

  it('sends each e-mail once, and answers each as its own POST would', async () => {
    const first = await postBatch(orders(3));
    expect(first.statusCode).toBe(200);
    expect(first.json().results).toEqual([
      {
        order_id: 'order-1',
        status: 201,
        notification: expect.objectContaining({ status: 'sent', attempts: 1 }),
      },
      { order_id: 'order-2', status: 201, notification: expect.objectContaining({ status: 'sent' }) },
      { order_id: 'order-3', status: 201, notification: expect.objectContaining({ status: 'sent' }) },
    ]);
    expect(smtp.received.map((mail) => mail.data.match(/Subject: (.*)/)?.[1]).sort()).toEqual([
      'Order order-1 confirmed',
      'Order order-2 confirmed',
      'Order order-3 confirmed',
    ]);

    // Redelivered (the outbox lost its marks), with one new: only the new one is sent.
    const again = await postBatch(orders(4));
    expect(again.json().results.map((r: { status: number }) => r.status)).toEqual([200, 200, 200, 201]);
    expect(smtp.received).toHaveLength(4);
    expect((await post(orders(1)[0])).statusCode).toBe(200);
    expect(smtp.received).toHaveLength(4);
    const metrics = (await (app as FastifyInstance).inject('/metrics')).body;
    expect(metrics).toMatch(/notifications_total\{outcome="sent"\} 4/);
    expect(metrics).toMatch(/notifications_total\{outcome="duplicate"\} 4/);
  });

  it('refuses a different notification for an order in its result and handles the others', async () => {
    await post(request);
    const res = await postBatch([{ ...request, quantity: 3 }, ...orders(1, 2)]);
    expect(res.statusCode).toBe(200);
    expect(res.json().results).toEqual([
      {
        order_id: 'order-1',
        status: 422,
        problem: expect.objectContaining({
          status: 422,
          type: 'https://chaos-platform.dev/problems/notification-mismatch',
        }),
      },
      { order_id: 'order-2', status: 201, notification: expect.objectContaining({ status: 'sent' }) },
    ]);
    expect(smtp.received).toHaveLength(2);
    expect((await get('order-1')).json()).toMatchObject({ quantity: 2, attempts: 1 });
  });

  it('keeps the notifications when the SMTP server is down and sends them on a retry', async () => {
    const port = smtp.port;
    await smtp.close();
    const down = await postBatch(orders(2));
    expect(down.statusCode).toBe(200);
    for (const result of down.json().results) {
      expect(result).toMatchObject({
        status: 503,
        problem: { type: 'https://chaos-platform.dev/problems/mail-unavailable' },
      });
    }
    expect((await get('order-2')).json()).toMatchObject({ status: 'pending', attempts: 1, sent_at: null });

    smtp = await startSmtp(port);
    await build(smtpMailer(smtp.url, FROM, 1000));
    const retried = await postBatch(orders(2));
    expect(retried.json().results).toEqual([
      expect.objectContaining({
        status: 200,
        notification: expect.objectContaining({ status: 'sent', attempts: 2 }),
      }),
      expect.objectContaining({
        status: 200,
        notification: expect.objectContaining({ status: 'sent', attempts: 2 }),
      }),
    ]);
    expect(smtp.received).toHaveLength(2);
  });

  it.each([
    ['an empty batch', []],
    [
      'a batch over the limit',
      Array.from({ length: MAX_BATCH + 1 }, (_, i) => ({ ...request, order_id: `o-${i}` })),
    ],
    ['a batch with an invalid notification', [request, { ...request, order_id: 'order-2', email: 'nope' }]],
    ['a batch naming an order twice', [request, { ...request, quantity: 3 }]],
    ['no list', undefined],
  ])('rejects %s with a 400 problem and sends nothing', async (_what, notifications) => {
    const res = await postBatch(notifications);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(smtp.received).toHaveLength(0);
    expect((await get('order-1')).statusCode).toBe(404);
  });

  it("takes a full batch of the longest notifications (over the other routes' 16 KiB)", async () => {
    await build(logMailer({ info() {} }, FROM));
    const longest = Array.from({ length: MAX_BATCH }, (_, i) => ({
      order_id: `${i}`.padEnd(100, 'x'),
      email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}`,
      product_id: 'P'.repeat(64),
      quantity: 1000,
    }));
    const res = await (app as FastifyInstance).inject({
      method: 'POST',
      url: '/notifications/batch',
      payload: { notifications: longest },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().results).toHaveLength(MAX_BATCH);
  });
});

describe('GET /notifications/:order_id', () => {
  it('shows a stored notification', async () => {
    await post(request);
    const res = await get('order-1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      ...request,
      status: 'sent',
      attempts: 1,
      last_error: null,
      created_at: expect.any(String),
      sent_at: expect.any(String),
    });
  });

  it('404s an unknown order with a problem', async () => {
    const res = await get('none');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/unknown-notification' });
  });
});

describe('readConfig', () => {
  it('defaults to port 5002 and no SMTP server', () => {
    expect(readConfig({})).toMatchObject({ PORT: 5002, MAIL_FROM: expect.stringContaining('@') });
    expect(readConfig({}).SMTP_URL).toBeUndefined();
  });

  it('rejects an SMTP_URL that is not smtp:// or smtps://', () => {
    expect(() => readConfig({ SMTP_URL: 'http://x' })).toThrow(ConfigError);
    expect(() => readConfig({ SMTP_URL: 'http://x' })).toThrow(/SMTP_URL/);
  });
});

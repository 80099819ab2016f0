// POST /orders and GET /orders/:id through app.inject, with inventory and notification running as
// real processes on loopback (built from dist), so every downstream call crosses real HTTP.

import { Downstream } from '@chaos-platform/service-kit';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { type ServiceName, type ServiceProcess, startService, stopAll, tempDir } from '../test/platform.js';
import { buildApp, type OrderApp } from './app.js';
import { readConfig } from './config.js';
import { migrations } from './migrations.js';
import { OutboxWorker } from './outbox.js';

// A busy CI machine lags every event loop; these tests are not about load shedding.
const testEnv = { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' };

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A peer service process that a test can take down and bring back on the same port and data. */
class Peer {
  private process: ServiceProcess | undefined;
  port: number | undefined;
  constructor(
    private readonly name: ServiceName,
    private readonly env: NodeJS.ProcessEnv,
  ) {}
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }
  async up() {
    this.process = await startService(this.name, this.env, this.port);
    this.port = this.process.port;
  }
  async down() {
    await this.process?.stop('SIGKILL');
  }
}

let store: TestDatabase;
let inventory: Peer;
let notification: Peer;
let clients: Downstream[];
let ordering: OrderApp;
let outbox: OutboxWorker;

const downstream = (name: string, baseUrl: string) =>
  new Downstream({
    name,
    baseUrl,
    timeoutMs: 1000,
    retries: 1,
    retryBaseDelayMs: 10,
    breakerThreshold: 2,
    breakerHalfOpenAfterMs: 400,
  });

beforeEach(async () => {
  store = await openTestDatabase('sqlite', migrations);
  inventory = new Peer('inventory-service', { DATA_DIR: tempDir('inventory'), SEED_STOCK: '5' });
  notification = new Peer('notification-service', { DATA_DIR: tempDir('notification') });
  await Promise.all([inventory.up(), notification.up()]);
  clients = [
    downstream('inventory-service', inventory.url),
    downstream('notification-service', notification.url),
  ];
  const [inventoryClient, notificationClient] = clients as [Downstream, Downstream];
  ordering = await buildApp({
    config: readConfig(testEnv),
    db: store.db,
    inventory: inventoryClient,
    notification: notificationClient,
    logger: false,
  });
  outbox = new OutboxWorker(
    {
      ...ordering,
      inventory: inventoryClient,
      notification: notificationClient,
      load: ordering.app.load,
      log: silent as never,
    },
    { pollIntervalMs: 50, batchSize: 10, maxBackoffMs: 200, pendingTimeoutMs: 60_000 },
  );
});

afterEach(async () => {
  await outbox?.stop();
  await ordering?.app.close();
  await Promise.all(clients.map((client) => client.close()));
  await stopAll();
  await store.cleanup();
});

const seedOrder = { product_id: 'PROD-001', quantity: 2, email: 'test@example.com' };

const post = (body: unknown, headers: Record<string, string> = {}) =>
  ordering.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

const stock = async (productId = 'PROD-001') =>
  (await fetch(`${inventory.url}/inventory/${productId}`)).json() as Promise<{
    available: number;
    reserved: number;
  }>;

const notificationOf = async (orderId: string) => {
  const res = await fetch(`${notification.url}/notifications/${orderId}`);
  return res.ok ? ((await res.json()) as { status: string }) : undefined;
};

describe('POST /orders', () => {
  it('reserves stock, confirms the order and queues its e-mail', async () => {
    const res = await post(seedOrder);
    expect(res.statusCode).toBe(201);
    const order = res.json<{ id: string }>();
    expect(order).toMatchObject({
      ...seedOrder,
      status: 'confirmed',
      id: expect.any(String),
      created_at: expect.any(String),
    });
    expect(res.headers.location).toBe(`/orders/${order.id}`);
    expect(await stock()).toMatchObject({ available: 3, reserved: 2 });

    const fetched = await ordering.app.inject(`/orders/${order.id}`);
    expect(fetched.json()).toEqual(order);

    expect(await notificationOf(order.id)).toBeUndefined();
    expect(await outbox.runOnce()).toBe(1);
    expect(await notificationOf(order.id)).toMatchObject({ status: 'sent' });
  });

  it('delivers a pass of notifications in one request, and a redelivery sends none twice', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await post({ ...seedOrder, quantity: 1 })).json<{ id: string }>().id);
    expect(await outbox.runOnce()).toBe(3);
    for (const id of ids) expect(await notificationOf(id)).toMatchObject({ status: 'sent', attempts: 1 });
    const metrics = async () => (await fetch(`${notification.url}/metrics`)).text();
    expect(await metrics()).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/notifications\/batch"[^}]*\} 1\n/,
    );

    // A crash after delivery, before the marks: the messages go again, and nothing is sent twice.
    await store.db.execute('UPDATE outbox SET delivered_at = NULL, locked_until_ms = NULL');
    expect(await outbox.runOnce()).toBe(3);
    for (const id of ids) expect(await notificationOf(id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(await metrics()).toMatch(/notifications_total\{outcome="sent"\} 3\n/);
    expect(await metrics()).toMatch(/notifications_total\{outcome="duplicate"\} 3\n/);
  });

  it('delivers one by one when notification-service refuses a batch, refusing only the bad message', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await post({ ...seedOrder, quantity: 1 })).json<{ id: string }>().id);
    const bad = ids[1] as string;
    // A message notification-service's schema refuses (order-service's own checks drifted from it).
    await store.db.execute(`UPDATE outbox SET payload = $1 WHERE order_id = $2`, [
      JSON.stringify({ order_id: bad, email: 'not-an-address', product_id: 'PROD-001', quantity: 1 }),
      bad,
    ]);
    expect(await outbox.runOnce()).toBe(2);
    expect(await notificationOf(ids[0] as string)).toMatchObject({ status: 'sent' });
    expect(await notificationOf(ids[2] as string)).toMatchObject({ status: 'sent' });
    expect(await notificationOf(bad)).toBeUndefined();
    expect(await ordering.orders.outboxEntry(bad, 'notify')).toMatchObject({
      delivered_at: expect.any(String),
      last_error: 'refused with 400',
    });
  });

  it('returns the same order for a retried Idempotency-Key and reserves once', async () => {
    const first = await post(seedOrder, { 'idempotency-key': 'key-1' });
    const again = await post(seedOrder, { 'idempotency-key': 'key-1' });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json<{ id: string }>().id).toBe(first.json<{ id: string }>().id);
    expect((await stock()).available).toBe(3);
  });

  it('refuses an Idempotency-Key reused for a different order', async () => {
    await post(seedOrder, { 'idempotency-key': 'key-1' });
    const reused = await post({ ...seedOrder, quantity: 1 }, { 'idempotency-key': 'key-1' });
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({
      type: 'https://chaos-platform.dev/problems/idempotency-key-reused',
    });
    expect((await stock()).available).toBe(3);
  });

  it('answers 409 when out of stock, also on replay', async () => {
    const res = await post({ ...seedOrder, quantity: 6 }, { 'idempotency-key': 'big' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/out-of-stock' });
    expect((await post({ ...seedOrder, quantity: 6 }, { 'idempotency-key': 'big' })).statusCode).toBe(409);
    expect((await stock()).available).toBe(5);
  });

  it('answers 422 for an unknown product', async () => {
    const res = await post({ ...seedOrder, product_id: 'PROD-999' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/unknown-product' });
  });

  it.each([
    ['malformed JSON', '{"product_id":"PROD-001",', 400],
    ['a quantity given as a string', { ...seedOrder, quantity: '2' }, 400],
    ['a negative quantity', { ...seedOrder, quantity: -1 }, 400],
    ['a zero quantity', { ...seedOrder, quantity: 0 }, 400],
    ['a missing email', { product_id: 'PROD-001', quantity: 1 }, 400],
    ['an invalid email', { ...seedOrder, email: 'not-an-email' }, 400],
    ['a JSON array', [seedOrder], 400],
    ['null', 'null', 400],
    ['a huge body', { ...seedOrder, email: `${'a'.repeat(100_000)}@example.com` }, 413],
  ])('rejects %s with a 4xx problem', async (_what, body, status) => {
    const res = await post(body);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await stock()).available).toBe(5);
  });

  it('rejects an Idempotency-Key with control characters', async () => {
    expect((await post(seedOrder, { 'idempotency-key': 'a b' })).statusCode).toBe(400);
  });

  it('answers 503 with Retry-After while inventory is down, fast once the breaker is open, and recovers', async () => {
    await inventory.down();
    const first = await post(seedOrder, { 'idempotency-key': 'during-outage' });
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toEqual(expect.any(String));
    expect(first.json()).toMatchObject({
      type: 'https://chaos-platform.dev/problems/dependency-unavailable',
    });
    await post(seedOrder);
    expect(clients[0]?.state).toBe('open');

    const started = performance.now();
    const fast = await post(seedOrder);
    expect(performance.now() - started).toBeLessThan(250);
    expect(fast.statusCode).toBe(503);
    expect(fast.json<{ detail: string }>().detail).toContain('circuit-open');

    await inventory.up();
    await new Promise((resolve) => setTimeout(resolve, 450));
    // The same key resumes the order that was left pending.
    const resumed = await post(seedOrder, { 'idempotency-key': 'during-outage' });
    expect(resumed.statusCode).toBe(201);
    expect(resumed.json<{ id: string }>().id).toBe(first.json<{ order_id: string }>().order_id);
    expect(clients[0]?.state).toBe('closed');
  });

  it('confirms orders while notification is down and delivers the e-mail when it is back', async () => {
    await notification.down();
    const res = await post(seedOrder);
    expect(res.statusCode).toBe(201);
    const { id } = res.json<{ id: string }>();
    expect(await outbox.runOnce()).toBe(0);
    expect(await ordering.orders.outboxEntry(id, 'notify')).toMatchObject({
      delivered_at: null,
      attempts: 1,
    });

    await notification.up();
    outbox.start();
    for (let i = 0; i < 50 && !(await notificationOf(id)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await notificationOf(id)).toMatchObject({ status: 'sent' });
    expect((await ordering.orders.outboxEntry(id, 'notify'))?.delivered_at).toEqual(expect.any(String));
  });

  it('fails an order left pending too long and releases its stock', async () => {
    // A reservation was made but its answer never reached us (the order is still pending).
    await inventory.down();
    const res = await post(seedOrder, { 'idempotency-key': 'lost-answer' });
    const orderId = res.json<{ order_id: string }>().order_id;
    await inventory.up();
    await fetch(`${inventory.url}/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order_id: orderId, product_id: 'PROD-001', quantity: 2 }),
    });
    expect((await stock()).available).toBe(3);

    await new Promise((resolve) => setTimeout(resolve, 450)); // breaker half-opens
    const expiring = new OutboxWorker(
      {
        ...ordering,
        inventory: clients[0] as Downstream,
        notification: clients[1] as Downstream,
        load: ordering.app.load,
        log: silent as never,
      },
      { pollIntervalMs: 50, batchSize: 10, maxBackoffMs: 200, pendingTimeoutMs: 1 },
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await expiring.runOnce()).toBe(1);
    expect((await ordering.app.inject(`/orders/${orderId}`)).json()).toMatchObject({
      status: 'failed',
      failure_reason: 'inventory-unavailable',
    });
    expect((await stock()).available).toBe(5);
    // Replaying the key now reports the failure instead of reserving again.
    expect((await post(seedOrder, { 'idempotency-key': 'lost-answer' })).statusCode).toBe(409);
  });
});

describe('GET /orders/:id', () => {
  it('404s an unknown order with a problem', async () => {
    const res = await ordering.app.inject('/orders/nope');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });
});

describe('metrics and probes', () => {
  it('counts orders by status and product, and shows breaker states', async () => {
    await post(seedOrder);
    await post({ ...seedOrder, quantity: 50 });
    const body = (await ordering.app.inject('/metrics')).body;
    expect(body).toMatch(/order_requests_total\{status="created",product_id="PROD-001"\} 1/);
    expect(body).toMatch(/order_requests_total\{status="out_of_stock",product_id="PROD-001"\} 1/);
    expect(body).toMatch(/order_request_duration_seconds_bucket\{le="[^"]+",status="created"\}/);
    expect(body).toMatch(/inventory_requests_total\{outcome="success"\} 1/);
    expect(body).toMatch(/circuit_breaker_state\{downstream="inventory-service"\} 0/);
    expect(body).toMatch(/outbox_pending_messages\{kind="notify"\} 1/);
  });

  it('stays ready while its dependencies are down', async () => {
    await Promise.all([inventory.down(), notification.down()]);
    expect((await ordering.app.inject('/readyz')).statusCode).toBe(200);
  });
});

// Orders and the outbox on both storage backends.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  backends,
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { migrations } from './migrations.js';
import { OrdersStore } from './orders-store.js';

let store: TestDatabase | undefined;
afterEach(async () => {
  await store?.cleanup();
  store = undefined;
});

const request = { product_id: 'PROD-001', quantity: 2, email: 'a@example.com' };

describe.each(backends)('OrdersStore on %s', (backend) => {
  const open = async () => {
    store = await openTestDatabase(backend, migrations);
    return new OrdersStore(store.db);
  };

  it('creates one order per Idempotency-Key', async () => {
    const orders = await open();
    const first = await orders.createPending(request, 'k1');
    const second = await orders.createPending(request, 'k1');
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, order: { id: first.order.id, status: 'pending' } });
    expect((await orders.createPending(request, undefined)).order.id).not.toBe(first.order.id);
  });

  it('confirms once and queues exactly one notification', async () => {
    const orders = await open();
    const { order } = await orders.createPending(request, undefined);
    expect((await orders.confirm(order)).status).toBe('confirmed');
    expect((await orders.confirm(order)).status).toBe('confirmed');
    expect(await orders.undelivered()).toEqual([{ kind: 'notify', count: 1 }]);
    expect(await orders.fail(order.id, 'late')).toBe(false);
  });

  it('leases a due message to one replica at a time', async () => {
    const orders = await open();
    const other = new OrdersStore(await (store as TestDatabase).openAnother());
    const { order } = await orders.createPending(request, undefined);
    await orders.confirm(order);
    const [a, b] = await Promise.all([orders.claimDue(10, 60_000), other.claimDue(10, 60_000)]);
    expect([...(a ?? []), ...(b ?? [])]).toEqual([
      { order_id: order.id, kind: 'notify', payload: expect.any(String), attempts: 1 },
    ]);
  });

  it('retries later, then marks delivered', async () => {
    let now = 1_000_000;
    const orders = await open();
    const clocked = new OrdersStore((store as TestDatabase).db, () => now);
    const { order } = await clocked.createPending(request, undefined);
    await clocked.confirm(order);
    const [message] = await clocked.claimDue(10, 60_000);
    if (!message) throw new Error('nothing claimed');
    await clocked.retryLater(message, 500, 'connection');
    expect(await clocked.claimDue(10, 60_000)).toEqual([]);
    now += 500;
    const [again] = await clocked.claimDue(10, 60_000);
    expect(again?.attempts).toBe(2);
    await clocked.deliveredAll([message]);
    expect(await orders.undelivered()).toEqual([]);
  });

  it('marks a batch delivered at once, of both kinds, and nothing else', async () => {
    const orders = await open();
    const placed = await Promise.all([1, 2, 3].map(() => orders.createPending(request, undefined)));
    for (const { order } of placed) await orders.confirm(order);
    const [first, second, third] = placed.map(({ order }) => order.id);
    if (!first || !second || !third) throw new Error('orders not placed');
    await orders.queueRelease(first);
    const claimed = await orders.claimDue(10, 60_000);
    expect(claimed).toHaveLength(4);
    await orders.deliveredAll(claimed.filter((m) => m.order_id !== third));
    expect(await orders.undelivered()).toEqual([{ kind: 'notify', count: 1 }]);
    expect(await orders.outboxEntry(third, 'notify')).toMatchObject({ delivered_at: null });
    expect(await orders.outboxEntry(first, 'release')).toMatchObject({ delivered_at: expect.any(String) });
  });

  it('fails a stale pending order and queues the release of its stock', async () => {
    let now = 5_000_000;
    store = await openTestDatabase(backend, migrations);
    const orders = new OrdersStore(store.db, () => now);
    const { order } = await orders.createPending(request, 'k');
    now += 10_000;
    expect(await orders.stalePending(5_000, 10)).toEqual([order.id]);
    expect(await orders.fail(order.id, 'inventory-unavailable')).toBe(true);
    expect(await orders.byId(order.id)).toMatchObject({
      status: 'failed',
      failure_reason: 'inventory-unavailable',
    });
    expect(await orders.undelivered()).toEqual([{ kind: 'release', count: 1 }]);
  });

  it('keeps finding pending orders and due messages written before the partial indexes (migration 2)', async () => {
    let now = 7_000_000;
    store = await openTestDatabase(backend, migrations.slice(0, 1));
    const before = new OrdersStore(store.db, () => now);
    const stale = await before.createPending(request, 'old-pending');
    const confirmed = await before.createPending(request, 'old-confirmed');
    await before.confirm(confirmed.order);
    now += 10_000;
    const after = new OrdersStore(await store.openAnother(migrations), () => now);
    expect(await after.stalePending(5_000, 10)).toEqual([stale.order.id]);
    expect(await after.undelivered()).toEqual([{ kind: 'notify', count: 1 }]);
    const [message] = await after.claimDue(10, 60_000);
    expect(message?.order_id).toBe(confirmed.order.id);
    await after.deliveredAll(message ? [message] : []);
    expect(await after.undelivered()).toEqual([]);
  });
});

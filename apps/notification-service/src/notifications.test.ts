// Recording send attempts on both storage backends: counted, never regressing, never overwriting.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  backends,
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { migrations } from './migrations.js';
import { type NotificationRequest, NotificationStore } from './notifications.js';

let store: TestDatabase | undefined;
afterEach(async () => {
  await store?.cleanup();
  store = undefined;
});

const request = { order_id: 'o-1', email: 'buyer@example.com', product_id: 'PROD-001', quantity: 2 };

describe.each(backends)('NotificationStore on %s', (backend) => {
  const open = async () => {
    store = await openTestDatabase(backend, migrations);
    const notifications = new NotificationStore(store.db);
    /** One attempt recorded alone: what the order now holds, undefined when it holds another. */
    const record = async (request: NotificationRequest, error: string | null) =>
      (await notifications.recordMany([{ request, error }])).get(request.order_id);
    return Object.assign(notifications, { record });
  };

  it('keeps a failed attempt pending and counts every attempt until one is sent', async () => {
    const notifications = await open();
    expect(await notifications.record(request, 'smtp down')).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: 'smtp down',
      sent_at: null,
    });
    expect(await notifications.record(request, null)).toMatchObject({
      status: 'sent',
      attempts: 2,
      last_error: null,
      sent_at: expect.any(String),
    });
  });

  it('leaves a sent notification sent when a concurrent attempt failed', async () => {
    const notifications = await open();
    const sent = await notifications.record(request, null);
    expect(await notifications.record(request, 'smtp down')).toMatchObject({
      status: 'sent',
      attempts: 2,
      last_error: null,
      sent_at: sent?.sent_at,
    });
  });

  it('never overwrites a different notification for the same order', async () => {
    const notifications = await open();
    await notifications.record(request, null);
    expect(await notifications.record({ ...request, quantity: 3 }, null)).toBeUndefined();
    expect(await notifications.get('o-1')).toMatchObject({ quantity: 2, attempts: 1 });
  });

  it('records many attempts in one statement as one by one would, and reads them back at once', async () => {
    const notifications = await open();
    const other = { ...request, order_id: 'o-2' };
    const different = { ...request, order_id: 'o-3' };
    await notifications.record(request, null);
    await notifications.record({ ...different, quantity: 9 }, null);
    const recorded = await notifications.recordMany([
      { request, error: 'smtp down' },
      { request: other, error: 'smtp down' },
      { request: different, error: null },
    ]);
    // Sent stays sent; a failed attempt is kept pending; a different notification is left alone.
    expect(recorded.get('o-1')).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(recorded.get('o-2')).toMatchObject({ status: 'pending', attempts: 1, last_error: 'smtp down' });
    expect(recorded.has('o-3')).toBe(false);
    expect(await notifications.get('o-3')).toMatchObject({ quantity: 9, attempts: 1 });

    const read = await notifications.getMany(['o-1', 'o-2', 'o-3', 'o-4']);
    expect([...read.keys()].sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(read.get('o-2')).toEqual(recorded.get('o-2'));
    expect(read.get('o-2')?.quantity).toBe(2);
  });
});

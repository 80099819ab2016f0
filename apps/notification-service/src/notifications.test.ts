// Recording send attempts on both storage backends: counted, never regressing, never overwriting.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  backends,
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { migrations } from './migrations.js';
import { NotificationStore } from './notifications.js';

let store: TestDatabase | undefined;
afterEach(async () => {
  await store?.cleanup();
  store = undefined;
});

const request = { order_id: 'o-1', email: 'buyer@example.com', product_id: 'PROD-001', quantity: 2 };

describe.each(backends)('NotificationStore on %s', (backend) => {
  const open = async () => {
    store = await openTestDatabase(backend, migrations);
    return new NotificationStore(store.db);
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
});

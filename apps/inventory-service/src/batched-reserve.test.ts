// Reservations batched per product on PostgreSQL: fewer statements, the same outcomes as one by one.

import type { Database } from '@chaos-platform/service-kit';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { migrations } from './migrations.js';
import { StockStore } from './stock.js';

let store: TestDatabase | undefined;
afterEach(async () => {
  await store?.cleanup();
  store = undefined;
});

/** The store, and how many reservation statements (the batched one: it takes an array) it ran. */
async function open(units: number) {
  store = await openTestDatabase('postgres', migrations);
  const db = store.db;
  const statements = { batched: 0 };
  const counted: Database = Object.create(db, {
    query: {
      value: (sql: string, params?: readonly unknown[]) => {
        if (sql.includes('unnest(')) statements.batched++;
        return db.query(sql, params);
      },
    },
  });
  const stock = new StockStore(counted);
  await stock.seed(units);
  return { stock, statements, db };
}

const orders = (n: number, prefix = 'o') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('batched reservations on postgres', () => {
  it('reserves concurrent orders of one product in fewer statements than orders, each once', async () => {
    const { stock, statements } = await open(1000);
    const ids = orders(40);
    const outcomes = await Promise.all(ids.map((id) => stock.reserve(id, 'PROD-001', 2)));
    expect(outcomes.map((o) => o.outcome)).toEqual(ids.map(() => 'reserved'));
    expect(outcomes.map((o) => ('reservation' in o ? o.reservation.order_id : ''))).toEqual(ids);
    // The first goes alone; the rest wait for it and go together.
    expect(statements.batched).toBeLessThan(ids.length / 2);
    expect(await stock.product('PROD-001')).toMatchObject({ available: 920, reserved: 80 });
  });

  it('never oversells: a batch the stock cannot cover goes one by one until the stock is gone', async () => {
    const { stock } = await open(10);
    const outcomes = await Promise.all(orders(25).map((id) => stock.reserve(id, 'PROD-002', 1)));
    const reserved = outcomes.filter((o) => o.outcome === 'reserved').length;
    expect(reserved).toBe(10);
    expect(outcomes.filter((o) => o.outcome === 'out-of-stock')).toHaveLength(15);
    expect(await stock.product('PROD-002')).toMatchObject({ available: 0, reserved: 10 });
  });

  it('answers a retried order beside new ones as one by one would: already reserved, the others reserved', async () => {
    const { stock } = await open(100);
    expect((await stock.reserve('again', 'PROD-003', 5)).outcome).toBe('reserved');
    const asked = ['n-1', 'again', 'n-2', 'again', 'n-3'];
    const outcomes = await Promise.all(asked.map((id) => stock.reserve(id, 'PROD-003', 5)));
    expect(outcomes.map((o) => o.outcome)).toEqual([
      'reserved',
      'already-reserved',
      'reserved',
      'already-reserved',
      'reserved',
    ]);
    expect(await stock.product('PROD-003')).toMatchObject({ available: 80, reserved: 20 });
  });

  it('keeps products apart, and an unknown product fails only its own orders', async () => {
    const { stock } = await open(50);
    const outcomes = await Promise.all([
      stock.reserve('a-1', 'PROD-004', 1),
      stock.reserve('u-1', 'PROD-404', 1),
      stock.reserve('a-2', 'PROD-004', 1),
      stock.reserve('u-2', 'PROD-404', 1),
      stock.reserve('b-1', 'PROD-005', 3),
    ]);
    expect(outcomes.map((o) => o.outcome)).toEqual([
      'reserved',
      'unknown-product',
      'reserved',
      'unknown-product',
      'reserved',
    ]);
    expect(await stock.product('PROD-004')).toMatchObject({ available: 48, reserved: 2 });
    expect(await stock.product('PROD-005')).toMatchObject({ available: 47, reserved: 3 });
  });

  it('reserves each order once when two replicas batch the same orders at once', async () => {
    const { stock, db } = await open(100);
    const other = new StockStore(await (store as TestDatabase).openAnother());
    const ids = orders(20);
    const outcomes = await Promise.all(
      ids.flatMap((id) => [stock.reserve(id, 'PROD-001', 1), other.reserve(id, 'PROD-001', 1)]),
    );
    expect(outcomes.filter((o) => o.outcome === 'reserved')).toHaveLength(20);
    expect(outcomes.filter((o) => o.outcome === 'already-reserved')).toHaveLength(20);
    expect(await stock.product('PROD-001')).toMatchObject({ available: 80, reserved: 20 });
    const [count] = await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM reservations');
    expect(count?.n).toBe(20);
  });
});

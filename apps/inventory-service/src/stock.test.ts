// The stock rules on both storage backends, including two replicas' handles racing for the last units.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  backends,
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

describe.each(backends)('StockStore on %s', (backend) => {
  const open = async (units: number) => {
    store = await openTestDatabase(backend, migrations);
    const stock = new StockStore(store.db);
    await stock.seed(units);
    return stock;
  };

  it('seeds once and never resets existing stock', async () => {
    const stock = await open(3);
    await stock.reserve('o-1', 'PROD-001', 2);
    await stock.seed(100);
    expect(await stock.product('PROD-001')).toMatchObject({ available: 1, reserved: 2 });
  });

  it('reserves idempotently, releases once and can reserve a released order again', async () => {
    const stock = await open(10);
    expect((await stock.reserve('o-1', 'PROD-002', 4)).outcome).toBe('reserved');
    expect((await stock.reserve('o-1', 'PROD-002', 4)).outcome).toBe('already-reserved');
    expect((await stock.reserve('o-1', 'PROD-002', 5)).outcome).toBe('mismatch');
    expect((await stock.release('o-1')).outcome).toBe('released');
    expect((await stock.release('o-1')).outcome).toBe('already-released');
    expect(await stock.product('PROD-002')).toMatchObject({ available: 10, reserved: 0 });
    expect((await stock.reserve('o-1', 'PROD-002', 4)).outcome).toBe('reserved');
    expect(await stock.product('PROD-002')).toMatchObject({ available: 6, reserved: 4 });
  });

  it('leaves no reservation behind when stock is short', async () => {
    const stock = await open(1);
    expect(await stock.reserve('o-1', 'PROD-003', 2)).toEqual({ outcome: 'out-of-stock', available: 1 });
    expect(await stock.reservation('o-1')).toBeUndefined();
    expect((await stock.reserve('o-2', 'PROD-404', 1)).outcome).toBe('unknown-product');
  });

  it('takes the stock once when two replicas reserve a released order again together', async () => {
    const first = await open(10);
    const second = new StockStore(await (store as TestDatabase).openAnother());
    await first.reserve('o-1', 'PROD-005', 3);
    await first.release('o-1');
    const outcomes = await Promise.all(
      [first, second, first, second].map((replica) => replica.reserve('o-1', 'PROD-005', 3)),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual([
      'already-reserved',
      'already-reserved',
      'already-reserved',
      'reserved',
    ]);
    expect(await first.product('PROD-005')).toMatchObject({ available: 7, reserved: 3 });
  });

  it('takes the stock once when two replicas reserve a new order together', async () => {
    const first = await open(10);
    const second = new StockStore(await (store as TestDatabase).openAnother());
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? first : second).reserve('o-new', 'PROD-002', 3)),
    );
    expect(outcomes.filter((o) => o.outcome === 'reserved')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'already-reserved')).toHaveLength(7);
    expect(await first.product('PROD-002')).toMatchObject({ available: 7, reserved: 3 });
  });

  it('never oversells when two replicas race for the last units', async () => {
    const first = await open(5);
    const second = new StockStore(await (store as TestDatabase).openAnother());
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? first : second).reserve(`race-${i}`, 'PROD-004', 1)),
    );
    expect(outcomes.filter((o) => o.outcome === 'reserved')).toHaveLength(5);
    expect(outcomes.filter((o) => o.outcome === 'out-of-stock')).toHaveLength(19);
    expect(await first.product('PROD-004')).toMatchObject({ available: 0, reserved: 5 });
  });
});

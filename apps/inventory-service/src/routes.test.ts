import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import {
  openTestDatabase,
  type TestDatabase,
} from '../../../packages/service-kit/src/storage/test-support/databases.js';
import { buildApp } from './app.js';
import { readConfig } from './config.js';
import { migrations } from './migrations.js';
import { StockStore } from './stock.js';

// A busy CI machine lags every event loop; these tests are not about load shedding.
const testEnv = { LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0' };

let store: TestDatabase;
let app: FastifyInstance;

beforeEach(async () => {
  store = await openTestDatabase('sqlite', migrations);
  await new StockStore(store.db).seed(10);
  app = await buildApp({ config: readConfig(testEnv), db: store.db, logger: false });
});

afterEach(async () => {
  await app.close();
  await store.cleanup();
});

const reserve = (body: unknown) =>
  app.inject({ method: 'POST', url: '/reservations', payload: body as object });
const available = async (productId: string) =>
  (await app.inject(`/inventory/${productId}`)).json<{ available: number }>().available;

describe('inventory routes', () => {
  it('lists the seeded catalogue PROD-001..PROD-005', async () => {
    const res = await app.inject('/inventory');
    expect(res.statusCode).toBe(200);
    expect(res.json<{ product_id: string }[]>().map((p) => p.product_id)).toEqual([
      'PROD-001',
      'PROD-002',
      'PROD-003',
      'PROD-004',
      'PROD-005',
    ]);
  });

  it('shows one product and 404s an unknown one', async () => {
    expect((await app.inject('/inventory/PROD-002')).json()).toMatchObject({ available: 10, reserved: 0 });
    const missing = await app.inject('/inventory/PROD-999');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ type: 'https://chaos-platform.dev/problems/unknown-product' });
  });

  it('reserves once per order id, however often it is asked', async () => {
    const body = { order_id: 'o-1', product_id: 'PROD-001', quantity: 3 };
    const first = await reserve(body);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ ...body, status: 'reserved' });
    const again = await reserve(body);
    expect(again.statusCode).toBe(200);
    expect(await available('PROD-001')).toBe(7);
    expect((await app.inject('/reservations/o-1')).json()).toMatchObject({ status: 'reserved', quantity: 3 });
  });

  it('refuses to change what an order reserved', async () => {
    await reserve({ order_id: 'o-1', product_id: 'PROD-001', quantity: 3 });
    const changed = await reserve({ order_id: 'o-1', product_id: 'PROD-001', quantity: 4 });
    expect(changed.statusCode).toBe(422);
    expect(await available('PROD-001')).toBe(7);
  });

  it('answers 409 when stock is short and takes nothing', async () => {
    const res = await reserve({ order_id: 'o-big', product_id: 'PROD-003', quantity: 11 });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ available: 10, requested: 11 });
    expect(await available('PROD-003')).toBe(10);
    expect((await app.inject('/reservations/o-big')).statusCode).toBe(404);
  });

  it('404s a reservation for an unknown product', async () => {
    expect((await reserve({ order_id: 'o-x', product_id: 'PROD-404', quantity: 1 })).statusCode).toBe(404);
  });

  it('releases once and gives the stock back once', async () => {
    await reserve({ order_id: 'o-1', product_id: 'PROD-004', quantity: 4 });
    const released = await app.inject({ method: 'DELETE', url: '/reservations/o-1' });
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ status: 'released' });
    expect((await app.inject({ method: 'DELETE', url: '/reservations/o-1' })).statusCode).toBe(200);
    expect(await available('PROD-004')).toBe(10);
    expect((await app.inject({ method: 'DELETE', url: '/reservations/nope' })).statusCode).toBe(404);
  });

  it.each([
    ['a negative quantity', { order_id: 'o', product_id: 'PROD-001', quantity: -1 }],
    ['a zero quantity', { order_id: 'o', product_id: 'PROD-001', quantity: 0 }],
    ['a quantity as a string', { order_id: 'o', product_id: 'PROD-001', quantity: '2' }],
    ['a fractional quantity', { order_id: 'o', product_id: 'PROD-001', quantity: 1.5 }],
    ['a missing order id', { product_id: 'PROD-001', quantity: 1 }],
    ['an order id with odd characters', { order_id: '../etc', product_id: 'PROD-001', quantity: 1 }],
  ])('rejects %s with 400', async (_what, body) => {
    const res = await reserve(body);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('counts reservations and exposes stock levels as metrics', async () => {
    await reserve({ order_id: 'o-1', product_id: 'PROD-001', quantity: 2 });
    await reserve({ order_id: 'o-2', product_id: 'PROD-001', quantity: 99 });
    const body = (await app.inject('/metrics')).body;
    expect(body).toMatch(/inventory_reservations_total\{outcome="reserved"\} 1/);
    expect(body).toMatch(/inventory_reservations_total\{outcome="out-of-stock"\} 1/);
    expect(body).toMatch(/inventory_units\{product_id="PROD-001",state="available"\} 8/);
  });
});

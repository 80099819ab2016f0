// The three services as real processes on loopback, broken on purpose: what the README promises
// must survive outages, kills and shutdowns.
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterEach, describe, expect, it } from '@jest/globals';
import { openTestDatabase } from '../../../packages/service-kit/src/storage/test-support/databases.js';
import {
  eventually,
  freePort,
  http,
  order,
  startPlatform,
  startService,
  stopAll,
  tempDir,
} from './platform.js';

afterEach(stopAll);

type Json = Record<string, unknown>;
const fastOutbox = { OUTBOX_POLL_INTERVAL_MS: '100', OUTBOX_MAX_BACKOFF_MS: '500' };

describe('the platform as processes', () => {
  it('serves the seed curl flow: order confirmed, stock taken, e-mail sent', async () => {
    const { order: orders, inventory, notification } = await startPlatform({ order: fastOutbox });
    const before = (await http('GET', `${inventory.url}/inventory/PROD-001`)).body;

    const placed = await http('POST', `${orders.url}/orders`, order('PROD-001', 2));
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: 'confirmed', product_id: 'PROD-001', quantity: 2 });
    const id = placed.body.id as string;

    expect((await http('GET', `${orders.url}/orders/${id}`)).body).toEqual(placed.body);
    const after = (await http('GET', `${inventory.url}/inventory/PROD-001`)).body;
    expect(after.available).toBe((before.available as number) - 2);
    const sent = await eventually(async () => {
      const res = await http('GET', `${notification.url}/notifications/${id}`);
      return res.body.status === 'sent' ? res.body : undefined;
    });
    expect(sent).toMatchObject({ email: 'test@example.com' });
  });

  it('turns concurrent retries with one Idempotency-Key into one order', async () => {
    const { order: orders, inventory } = await startPlatform({ inventory: { SEED_STOCK: '100' } });
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        http('POST', `${orders.url}/orders`, order('PROD-002', 3), { 'idempotency-key': 'retry-me' }),
      ),
    );
    const ids = new Set(replies.filter((r) => r.status === 201).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    // A concurrent duplicate may be told to retry (503) while the first is in flight, never given a second order.
    for (const reply of replies) expect([201, 503]).toContain(reply.status);
    const again = await http('POST', `${orders.url}/orders`, order('PROD-002', 3), {
      'idempotency-key': 'retry-me',
    });
    expect(again.body.id).toBe([...ids][0]);
    expect((await http('GET', `${inventory.url}/inventory/PROD-002`)).body.available).toBe(97);
  });

  it('answers 409 for an order larger than the stock', async () => {
    const { order: orders } = await startPlatform({ inventory: { SEED_STOCK: '3' } });
    const res = await http('POST', `${orders.url}/orders`, order('PROD-003', 4));
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('still confirms orders while notification is down, and sends the e-mails when it returns', async () => {
    const { order: orders, notification } = await startPlatform({ order: fastOutbox });
    await notification.stop('SIGKILL');

    const placed = await Promise.all([1, 2, 3].map(() => http('POST', `${orders.url}/orders`, order())));
    for (const reply of placed) expect(reply.status).toBe(201);

    const back = await startService('notification-service', notification.env, notification.port);
    for (const reply of placed) {
      await eventually(async () => {
        const res = await http('GET', `${back.url}/notifications/${reply.body.id}`);
        return res.body.status === 'sent' ? true : undefined;
      }, 15_000);
    }
  });

  it('fails fast with 503 while inventory is down and recovers when it returns', async () => {
    const { order: orders, inventory } = await startPlatform({
      order: { BREAKER_THRESHOLD: '3', BREAKER_HALF_OPEN_AFTER_MS: '1000', DOWNSTREAM_RETRIES: '1' },
    });
    await inventory.stop('SIGKILL');

    const timings: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const res = await http('POST', `${orders.url}/orders`, order());
      timings.push(performance.now() - started);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Once open, the breaker answers without touching the network.
    for (const ms of timings.slice(3)) expect(ms).toBeLessThan(100);
    const metrics = await fetch(`${orders.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/circuit_breaker_state\{downstream="inventory-service"\} 2/);

    await startService('inventory-service', inventory.env, inventory.port);
    const recovered = await eventually(async () => {
      const res = await http('POST', `${orders.url}/orders`, order());
      return res.status === 201 ? res : undefined;
    }, 10_000);
    expect(recovered.body.status).toBe('confirmed');
  });

  it('loses no acknowledged order when a replica is SIGKILLed mid-traffic', async () => {
    const { inventory, notification } = await startPlatform();
    const shared = {
      DATA_DIR: tempDir('orders-shared'),
      INVENTORY_URL: inventory.url,
      NOTIFICATION_URL: notification.url,
    };
    const [a, b] = await Promise.all([
      startService('order-service', shared),
      startService('order-service', shared),
    ]);

    const acknowledged: string[] = [];
    let refused = 0;
    const traffic = Array.from({ length: 40 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 5));
      try {
        const res = await http('POST', `${a.url}/orders`, order('PROD-004', 1));
        if (res.status === 201) acknowledged.push(res.body.id as string);
      } catch {
        refused++; // the connection died with the process: not acknowledged
      }
    });
    setTimeout(() => void a.stop('SIGKILL'), 60);
    await Promise.all(traffic);

    expect(acknowledged.length + refused).toBeGreaterThan(0);
    for (const id of acknowledged) {
      const res = await http('GET', `${b.url}/orders/${id}`);
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('confirmed');
    }
  });

  it('drains in-flight orders on SIGTERM: none fail, readiness drops first, exit 0', async () => {
    const { inventory, notification } = await startPlatform();
    // Inventory answers slowly, so orders are in flight when the signal lands.
    const slow = await slowProxy(inventory.url, 700);
    const orders = await startService('order-service', {
      DATA_DIR: tempDir('orders'),
      INVENTORY_URL: slow.url,
      NOTIFICATION_URL: notification.url,
      SHUTDOWN_DELAY_MS: '300',
    });

    const inFlight = Array.from({ length: 10 }, () =>
      http('POST', `${orders.url}/orders`, order('PROD-005', 1)),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    const exit = orders.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await http('GET', `${orders.url}/readyz`)).status).toBe(503);

    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(await exit).toBe(0);
    slow.server.close();
  });
});

describe.each(['sqlite', 'postgres'] as const)('two inventory replicas on %s', (backend) => {
  it('never oversell the last units, however they race', async () => {
    const store = backend === 'postgres' ? await openTestDatabase('postgres', []) : undefined;
    try {
      const env: Json = store?.url ? { DATABASE_URL: store.url } : { DATA_DIR: tempDir('inventory-shared') };
      const replicas = await Promise.all([
        startService('inventory-service', { ...env, SEED_STOCK: '5' } as NodeJS.ProcessEnv),
        startService('inventory-service', { ...env, SEED_STOCK: '5' } as NodeJS.ProcessEnv),
      ]);
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          http('POST', `${replicas[i % 2]?.url}/reservations`, {
            order_id: `race-${i}`,
            product_id: 'PROD-001',
            quantity: 1,
          }),
        ),
      );
      const statuses = replies.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(5);
      expect(statuses.filter((s) => s === 409)).toHaveLength(25);
      for (const replica of replicas) {
        expect((await http('GET', `${replica.url}/inventory/PROD-001`)).body).toMatchObject({
          available: 0,
          reserved: 5,
        });
      }
    } finally {
      await stopAll();
      await store?.cleanup();
    }
  });
});

interface SlowProxy {
  url: string;
  server: Server;
}

/** A reverse proxy that holds every request for `delayMs` before passing it on. */
async function slowProxy(target: string, delayMs: number): Promise<SlowProxy> {
  const port = await freePort();
  const server = createServer((req, res) => {
    setTimeout(() => {
      const upstream = httpRequest(
        `${target}${req.url}`,
        { method: req.method, headers: req.headers },
        (reply) => {
          res.writeHead(reply.statusCode ?? 502, reply.headers);
          reply.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, server };
}

// The services as real processes under slow clients, a file-descriptor famine, several times their
// capacity and a notification backlog: they keep a deadline on every connection, stay up, keep their
// probes answering, shed what they cannot take, and catch up on what they owe.
// Rates are measured here, on this machine, never hard-coded; figures are printed, not asserted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, http, order, startPlatform, startService, stopAll, tempDir } from './platform.js';

afterEach(stopAll);

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

interface Slow {
  socket: Socket;
  /** Resolves with what the server wrote and when it closed the connection. */
  closed: Promise<{ at: number; text: string }>;
}

/** A client that sends the start of a request and never finishes its headers (slowloris). */
function slowClient(port: number): Slow {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const slow: Slow = { socket, closed: Promise.resolve({ at: 0, text: '' }) };
  let text = '';
  socket.on('data', (chunk) => (text += chunk));
  // A reset from the server must not be thrown as an unhandled 'error' event.
  socket.on('error', () => {});
  slow.closed = new Promise((resolve) => socket.on('close', () => resolve({ at: performance.now(), text })));
  socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  return slow;
}

const metric = async (url: string, pattern: RegExp) => {
  const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text());
  const match = text.match(pattern);
  return match ? Number(match[1]) : undefined;
};

describe('connection deadlines', () => {
  it('closes requests whose headers never finish after the header timeout, with a 408 problem', async () => {
    const service = await startService('inventory-service', {
      DATA_DIR: tempDir('inventory'),
      HTTP_HEADERS_TIMEOUT_MS: '1000',
    });
    const started = performance.now();
    const clients = Array.from({ length: 5 }, () => slowClient(service.port));
    const ends = await Promise.all(clients.map((client) => client.closed));
    for (const { at, text } of ends) {
      // Node checks deadlines once a second: closed between the timeout and the timeout plus a check.
      expect(at - started).toBeGreaterThanOrEqual(900);
      expect(at - started).toBeLessThan(5000);
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toMatch(/content-type: application\/problem\+json/i);
      expect(text).toContain('"type":"https://chaos-platform.dev/problems/request-timeout"');
    }
    expect((await http('GET', `${service.url}/healthz`)).status).toBe(200);
  });

  it('closes connections past MAX_CONNECTIONS on arrival and serves again once they go', async () => {
    const service = await startService('inventory-service', {
      DATA_DIR: tempDir('inventory'),
      MAX_CONNECTIONS: '20',
      HTTP_HEADERS_TIMEOUT_MS: '1500',
    });
    const clients = Array.from({ length: 40 }, () => slowClient(service.port));
    await sleep(500);
    const closedEarly = clients.filter((client) => client.socket.destroyed || client.socket.readableEnded);
    expect(closedEarly.length).toBeGreaterThanOrEqual(20);
    await Promise.all(clients.map((client) => client.closed));
    expect((await http('GET', `${service.url}/healthz`)).status).toBe(200);
  });

  it('stays up out of file descriptors, and serves again once they free up', async () => {
    const { inventory, notification } = await startPlatform();
    const limit = 200;
    const orders = await startService(
      'order-service',
      {
        DATA_DIR: tempDir('orders'),
        INVENTORY_URL: inventory.url,
        NOTIFICATION_URL: notification.url,
        HTTP_HEADERS_TIMEOUT_MS: '3000',
        // Poll often, so the outbox runs into EMFILE too.
        OUTBOX_POLL_INTERVAL_MS: '100',
      },
      undefined,
      ['prlimit', `--nofile=${limit}:${limit}`],
    );
    const started = performance.now();
    const clients = Array.from({ length: limit * 2 }, () => slowClient(orders.port));
    // Long enough for the load sampler, the outbox and accept() to meet EMFILE.
    await sleep(1500);
    expect(orders.running).toBe(true);
    const ends = await Promise.all(clients.map((client) => client.closed));
    expect(orders.running).toBe(true);
    // The limit was reached: past it, connections were closed on arrival (libuv accepts and drops
    // them when accept() fails with EMFILE), long before the header timeout.
    const dropped = ends.filter(({ at }) => at - started < 1000).length;
    expect(dropped).toBeGreaterThan(limit / 2);

    const placed = await eventually(async () => {
      const res = await http('POST', `${orders.url}/orders`, order());
      return res.status === 201 ? res : undefined;
    }, 10_000);
    expect(placed.body.status).toBe('confirmed');
    expect((await http('GET', `${orders.url}/healthz`)).status).toBe(200);
    // Nothing fatal was logged: no exit, no shutdown.
    expect(orders.output.join('')).not.toMatch(/"level":60|shutting down/);
  }, 30_000);
});

describe('at several times capacity', () => {
  it('sheds the excess with fast 503s while the probes answer within 1 s', async () => {
    const { order: orders } = await startPlatform();
    // Capacity, closed loop from another process: 32 clients placing 600 orders back to back.
    const capacity = (await generate(orders.url, 'capacity', 600, 32)) as {
      rate: number;
      statuses: Record<string, number>;
    };
    // Every order placed (a status 0 is no answer at all).
    expect(capacity.statuses).toEqual({ 201: 600 });

    const probes: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const at = performance.now();
        const answers = await Promise.all(
          ['/healthz', '/readyz'].map((path) =>
            fetch(`${orders.url}${path}`, { signal: AbortSignal.timeout(5000) }).then(
              (res) => (res.status === 200 ? performance.now() - at : Number.POSITIVE_INFINITY),
              () => Number.POSITIVE_INFINITY,
            ),
          ),
        );
        probes.push(...answers);
        await sleep(100);
      }
    })();
    // Open loop at 4x that rate for 3 s.
    const flood = (await generate(orders.url, 'open', Math.round(capacity.rate * 4), 3)) as {
      sent: number;
      sentPerSecond: number;
      statuses: Record<string, number>;
      improperSheds: number;
    };
    probing = false;
    await prober;

    process.stdout.write(
      `capacity ${capacity.rate.toFixed(0)} orders/s; 4x: sent ${flood.sentPerSecond.toFixed(0)}/s, ` +
        `statuses ${JSON.stringify(flood.statuses)}; slowest of ${probes.length} probes ${Math.max(...probes).toFixed(0)} ms\n`,
    );
    // Every order is answered: placed, or shed with a problem and a Retry-After; none hangs or fails.
    expect(Object.keys(flood.statuses).sort()).toEqual(expect.arrayContaining(['201']));
    for (const status of Object.keys(flood.statuses)) expect(['201', '503']).toContain(status);
    expect(flood.improperSheds).toBe(0);
    expect(probes.length).toBeGreaterThan(10);
    for (const ms of probes) expect(ms).toBeLessThan(1000);
  }, 60_000);
});

/** Runs load-generator.mjs in its own process and returns what it printed. */
async function generate(url: string, ...args: Array<string | number>): Promise<unknown> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'load-generator.mjs'), url, ...args.map(String)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  expect(code).toBe(0);
  return JSON.parse(out);
}

describe('the outbox', () => {
  it('drains a burst of notifications once notification-service is back, and reports its lag', async () => {
    const { order: orders, notification } = await startPlatform({
      // Retry soon after notification-service is back: the rate measured is delivery, not backoff.
      order: {
        OUTBOX_POLL_INTERVAL_MS: '100',
        OUTBOX_MAX_BACKOFF_MS: '500',
        BREAKER_HALF_OPEN_AFTER_MS: '500',
      },
    });
    await notification.stop('SIGKILL');
    const burst = 600;
    let next = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < burst) {
          const res = await http('POST', `${orders.url}/orders`, order());
          expect(res.status).toBe(201);
          ids.push(res.body.id as string);
        }
      }),
    );
    const pending = /^outbox_pending_messages\{kind="notify"\} (\d+)/m;
    expect(await metric(orders.url, pending)).toBe(burst);
    expect(await metric(orders.url, /^outbox_oldest_pending_age_seconds (\S+)/m)).toBeGreaterThan(0);

    const back = await startService('notification-service', notification.env, notification.port);
    // From the backlog's first fall to empty: the delivery rate, not the wait for the first retry.
    let falling: number | undefined;
    await eventually(async () => {
      const left = await metric(orders.url, pending);
      if (falling === undefined && left !== undefined && left < burst) falling = performance.now();
      return left === 0 ? true : undefined;
    }, 60_000);
    const seconds = Math.max(0.1, (performance.now() - (falling ?? performance.now())) / 1000);
    process.stdout.write(
      `outbox drained ${burst} notifications in ${seconds.toFixed(1)} s: ${(burst / seconds).toFixed(0)}/s\n`,
    );

    expect(await metric(orders.url, /^outbox_oldest_pending_age_seconds (\S+)/m)).toBe(0);
    for (const id of [ids[0], ids[burst / 2], ids[burst - 1]]) {
      expect((await http('GET', `${back.url}/notifications/${id}`)).body.status).toBe('sent');
    }
  }, 90_000);
});

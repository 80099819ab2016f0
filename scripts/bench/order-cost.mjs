// What one order costs each service on PostgreSQL: round trips and write commits per order,
// counted on the wire. Each service reaches PostgreSQL (TEST_DATABASE_URL, by default the local
// server; a fresh schema each) through a proxy of its own that reads the server's replies:
// - a round trip is a ReadyForQuery ('Z'): the server answers one per simple query or per Sync;
// - a write commit is a transaction that ends (ReadyForQuery 'I') having changed rows (a statement
//   whose text writes, with a CommandComplete count above 0): what PostgreSQL flushes to its WAL.
// Places COST_ORDERS (1000) orders from COST_CLIENTS (8) clients, waits until the outbox has
// delivered their notifications (the counts stand still for 2 s, at most 30 s), and prints per
// service and in all: round trips and write commits per order, and the connections each opened;
// and the WAL PostgreSQL wrote per order (the whole server's: anything else writing to it counts too).
// The outbox's idle polls (two reads per 500 ms) are counted too. Run after `npm run build`:
// `node scripts/bench/order-cost.mjs`. Skipped with a line when PostgreSQL is unreachable.
// BENCH_ROOT=<dir> counts another built checkout's services (before/after figures).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { freePort } from '../../cli/dist/drivers/local/supervisor.js';
import { benchSchemas, postgresUrl } from '../bench-schemas.mjs';

const root = resolve(process.env.BENCH_ROOT ?? join(import.meta.dirname, '../..'));
const ORDERS = Number(process.env.COST_ORDERS ?? 1000);
const CLIENTS = Number(process.env.COST_CLIENTS ?? 8);
const target = new URL(postgresUrl);
const SERVICES = ['inventory-service', 'notification-service', 'order-service'];

/** Reads a stream of PostgreSQL messages (a type byte, then a length that counts itself). */
function messages(onMessage, skipFirst = false) {
  let pending = Buffer.alloc(0);
  let untyped = skipFirst;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      // The client's startup message alone has no type byte.
      if (untyped) {
        if (pending.length < 4 || pending.length < pending.readUInt32BE(0)) return;
        pending = pending.subarray(pending.readUInt32BE(0));
        untyped = false;
        continue;
      }
      if (pending.length < 5) return;
      const length = pending.readUInt32BE(1);
      if (pending.length < 1 + length) return;
      onMessage(String.fromCharCode(pending[0]), pending.subarray(5, 1 + length));
      pending = pending.subarray(1 + length);
    }
  };
}

const cString = (body, offset) => {
  const end = body.indexOf(0, offset);
  return [body.toString('utf8', offset, end), end + 1];
};
const WRITES = /\b(INSERT|UPDATE|DELETE)\b/i;

/**
 * A TCP proxy to PostgreSQL that counts round trips and write commits. A statement writes when its
 * text has INSERT, UPDATE or DELETE (a CTE's writes hide behind a SELECT tag) and its tag counts
 * more than 0 rows; the client's Parse messages give the text of each prepared statement's name.
 */
async function countingProxy() {
  const counts = { roundTrips: 0, writeCommits: 0, connections: 0 };
  const server = createServer((client) => {
    counts.connections++;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const statements = new Map();
    let bound = '';
    const executing = [];
    let wrote = false;
    client.on(
      'data',
      messages((type, body) => {
        if (type === 'P') {
          const [name, next] = cString(body, 0);
          statements.set(name, cString(body, next)[0]);
        } else if (type === 'B') {
          const [, next] = cString(body, 0);
          bound = statements.get(cString(body, next)[0]) ?? '';
        } else if (type === 'E') {
          executing.push(WRITES.test(bound));
        }
      }, true),
    );
    upstream.on(
      'data',
      messages((type, body) => {
        if (type === 'C') {
          const tag = cString(body, 0)[0];
          const [verb] = tag.split(' ');
          // An Execute's tag, or else one of a simple query's (BEGIN, COMMIT...), which say what they are.
          const writes = executing.length ? executing.shift() : WRITES.test(verb);
          if (writes && Number(tag.split(' ').at(-1)) > 0) wrote = true;
          if (verb === 'ROLLBACK') wrote = false;
        } else if (type === 'Z') {
          counts.roundTrips++;
          executing.length = 0;
          if (body[0] === 0x49 /* I: idle, the transaction ended */) {
            if (wrote) counts.writeCommits++;
            wrote = false;
          }
        }
      }),
    );
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { counts, port: server.address().port, close: () => server.close() };
}

const children = [];
const { withAdmin, fresh: freshSchema, dropAll: dropSchemas } = benchSchemas('cost');
const proxies = {};

async function startService(name, port, env) {
  const proxy = await countingProxy();
  proxies[name] = proxy;
  const url = await freshSchema();
  url.host = `127.0.0.1:${proxy.port}`;
  const child = spawn(process.execPath, [join(root, `apps/${name}/dist/main.js`)], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      PROBE_PORT: '0',
      LOG_LEVEL: 'warn',
      SEED_STOCK: '100000000',
      DATABASE_URL: url.toString(),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(20)) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ready = await request(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    await ready?.body.dump();
    if (ready?.statusCode === 200) return;
  }
  throw new Error(`${name} not ready within 30 s`);
}

const snapshot = () =>
  Object.fromEntries(Object.entries(proxies).map(([name, proxy]) => [name, { ...proxy.counts }]));

try {
  await withAdmin((client) => client.query('SELECT 1'));
} catch (error) {
  console.log(`order cost on PostgreSQL: skipped, ${target.host} unreachable (${error.message})`);
  process.exit(0);
}

try {
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()])));
  await startService('inventory-service', ports['inventory-service'], {});
  await startService('notification-service', ports['notification-service'], {});
  await startService('order-service', ports['order-service'], {
    INVENTORY_URL: `http://127.0.0.1:${ports['inventory-service']}`,
    NOTIFICATION_URL: `http://127.0.0.1:${ports['notification-service']}`,
  });
  const walPosition = () =>
    withAdmin((client) => client.query('SELECT pg_current_wal_lsn()::text AS lsn')).then(({ rows }) => {
      const [high, low] = rows[0].lsn.split('/');
      return Number.parseInt(high, 16) * 2 ** 32 + Number.parseInt(low, 16);
    });
  const walBefore = await walPosition();
  const before = snapshot();
  const pool = new Pool(`http://127.0.0.1:${ports['order-service']}`, { connections: CLIENTS });
  let placed = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (placed + failed < ORDERS) {
        const n = placed + failed;
        placed++;
        const res = await pool.request({
          method: 'POST',
          path: '/orders',
          headers: { 'content-type': 'application/json', 'idempotency-key': `cost-${n}` },
          body: JSON.stringify({ product_id: 'PROD-001', quantity: 1, email: 'cost@example.com' }),
          headersTimeout: 10_000,
        });
        await res.body.dump();
        if (res.statusCode !== 201) {
          placed--;
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  // Drained: nothing moved for 2 s but the outbox's idle polls (at most two reads per 500 ms).
  let last = JSON.stringify(snapshot()['notification-service']);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    await sleep(2000);
    const now = JSON.stringify(snapshot()['notification-service']);
    if (now === last) break;
    last = now;
  }
  const after = snapshot();
  const walBytes = (await walPosition()) - walBefore;
  console.log(
    `order cost on PostgreSQL: ${placed} orders placed (${failed} failed) from ${CLIENTS} clients in ${seconds.toFixed(1)} s, outbox drained`,
  );
  const total = { roundTrips: 0, writeCommits: 0 };
  for (const name of SERVICES) {
    const d = (key) => after[name][key] - before[name][key];
    total.roundTrips += d('roundTrips');
    total.writeCommits += d('writeCommits');
    console.log(
      `  ${name.padEnd(22)} round trips ${(d('roundTrips') / placed).toFixed(2).padStart(6)}/order   write commits ${(d('writeCommits') / placed).toFixed(2).padStart(5)}/order   connections ${after[name].connections}`,
    );
  }
  console.log(
    `  ${'all three'.padEnd(22)} round trips ${(total.roundTrips / placed).toFixed(2).padStart(6)}/order   write commits ${(total.writeCommits / placed).toFixed(2).padStart(5)}/order   WAL ${(walBytes / placed).toFixed(0)} bytes/order`,
  );
} finally {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      if ((await Promise.race([exited, sleep(10_000, 'timeout')])) === 'timeout') child.kill('SIGKILL');
    }),
  );
  for (const proxy of Object.values(proxies)) proxy.close();
  await dropSchemas();
}

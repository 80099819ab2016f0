// `npm run platform [-- --base-port <port>]`: builds, then runs the three services on this machine
// with embedded SQLite under $DATA_DIR/<service> (./data by default), no cluster and no database
// server: order-service on the base port (5000), inventory and notification on the next two. Waits
// until each is ready, places one order the way the README's curl does, then keeps running until
// Ctrl-C or SIGTERM, when it stops them gracefully.
import './require-node.mjs';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { build } from './build.mjs';

let basePort;
try {
  const { values } = parseArgs({ options: { 'base-port': { type: 'string', default: '5000' } } });
  basePort = Number(values['base-port']);
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65_533)
    throw new Error('--base-port must be a port');
} catch (error) {
  console.error(`platform: ${error.message}`);
  process.exit(2);
}

await build();

const url = (port) => `http://127.0.0.1:${port}`;
const services = [
  { name: 'inventory-service', port: basePort + 1 },
  { name: 'notification-service', port: basePort + 2 },
  { name: 'order-service', port: basePort },
];

let stopping = false;
const children = services.map(({ name, port }) => {
  // The bundle, as the images and `chaosctl local up` run it: it starts in about half the time.
  const child = spawn(process.execPath, [`apps/${name}/bundle/main.mjs`], {
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: `${process.env.DATA_DIR ?? 'data'}/${name}`,
      INVENTORY_URL: url(basePort + 1),
      NOTIFICATION_URL: url(basePort + 2),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the platform`);
      stop(1);
    }
  });
  return child;
});

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  Promise.all(
    children.map(
      (child) => new Promise((done) => (child.exitCode !== null ? done() : child.on('exit', done))),
    ),
  ).then(() => process.exit(code));
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

async function waitReady({ name, port }) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !stopping) {
    try {
      // undici's request, not fetch: fetch refuses the Fetch standard's "bad ports" (6000...).
      const res = await request(`${url(port)}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${name} was not ready on port ${port} within 30 s`);
}

try {
  const started = Date.now();
  await Promise.all(services.map(waitReady));
  const response = await request(`${url(basePort)}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ product_id: 'PROD-001', quantity: 2, email: 'test@example.com' }),
  });
  console.log(
    `\nplatform ready in ${Date.now() - started} ms; a first order answered ${response.statusCode}:`,
  );
  console.log(JSON.stringify(await response.body.json(), null, 2));
  console.log(`
order-service         ${url(basePort)}   (POST /orders, GET /orders/:id, /metrics)
inventory-service     ${url(basePort + 1)}   (GET /inventory/PROD-001)
notification-service  ${url(basePort + 2)}   (GET /notifications/:order_id)
Press Ctrl-C to stop.`);
} catch (error) {
  console.error(`start failed: ${error.message}`);
  stop(1);
}

// `npm run platform`: the three services on this machine with embedded SQLite under ./data, no cluster and
// no database server. Waits until each is ready, places one order the way the README's curl does,
// then keeps running until Ctrl-C, when it stops them gracefully.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const services = [
  { name: 'inventory-service', port: 5001 },
  { name: 'notification-service', port: 5002 },
  { name: 'order-service', port: 5000 },
];

const children = services.map(({ name, port }) => {
  const child = spawn(process.execPath, [`apps/${name}/dist/main.js`], {
    env: { ...process.env, PORT: String(port), DATA_DIR: process.env.DATA_DIR ?? `data/${name}` },
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

let stopping = false;
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
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
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
  const response = await fetch('http://127.0.0.1:5000/orders', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ product_id: 'PROD-001', quantity: 2, email: 'test@example.com' }),
  });
  console.log(`\nplatform ready in ${Date.now() - started} ms; a first order answered ${response.status}:`);
  console.log(JSON.stringify(await response.json(), null, 2));
  console.log(`
order-service         http://127.0.0.1:5000   (POST /orders, GET /orders/:id, /metrics)
inventory-service     http://127.0.0.1:5001   (GET /inventory/PROD-001)
notification-service  http://127.0.0.1:5002   (GET /notifications/:order_id)
Press Ctrl-C to stop.`);
} catch (error) {
  console.error(`start failed: ${error.message}`);
  stop(1);
}

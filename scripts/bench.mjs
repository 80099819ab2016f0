// `npm run bench`: figures, not assertions. Starts the three services from dist on embedded SQLite
// in a temporary directory, reports each one's time from spawn to ready, then places orders from
// a fixed number of concurrent clients and reports throughput and latency. Bounded in count and time.
//   BENCH_ORDERS (default 2000)  BENCH_CONCURRENCY (default 16)  BENCH_MAX_SECONDS (default 60)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const total = Number(process.env.BENCH_ORDERS ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const maxSeconds = Number(process.env.BENCH_MAX_SECONDS ?? 60);
const dataDir = mkdtempSync(join(tmpdir(), 'chaos-bench-'));
const services = [
  { name: 'inventory-service', port: 6601 },
  { name: 'notification-service', port: 6602 },
  { name: 'order-service', port: 6600 },
];
const env = {
  PATH: process.env.PATH,
  LOG_LEVEL: 'warn',
  INVENTORY_URL: 'http://127.0.0.1:6601',
  NOTIFICATION_URL: 'http://127.0.0.1:6602',
};

const children = [];
async function start({ name, port }) {
  const started = performance.now();
  const child = spawn(process.execPath, [`apps/${name}/dist/main.js`], {
    env: { ...env, PORT: String(port), DATA_DIR: join(dataDir, name) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(10)) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok) {
      return { name, readyMs: performance.now() - started };
    }
  }
  throw new Error(`${name} not ready within 30 s`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

try {
  for (const { name, readyMs } of await Promise.all(services.map(start))) {
    console.log(`${name.padEnd(22)} spawn to ready ${readyMs.toFixed(0)} ms`);
  }
  const body = JSON.stringify({ product_id: 'PROD-001', quantity: 1, email: 'bench@example.com' });
  const latencies = [];
  const statuses = new Map();
  let next = 0;
  const stopAt = Date.now() + maxSeconds * 1000;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && Date.now() < stopAt) {
        next++;
        const t = performance.now();
        const res = await fetch('http://127.0.0.1:6600/orders', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `orders placed          ${latencies.length} with ${concurrency} concurrent clients in ${seconds.toFixed(1)} s`,
  );
  console.log(`throughput             ${(latencies.length / seconds).toFixed(0)} orders/s`);
  console.log(
    `latency                p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  console.log(`statuses               ${JSON.stringify(Object.fromEntries(statuses))}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) => new Promise((done) => (child.exitCode !== null ? done() : child.on('exit', done))),
    ),
  );
  rmSync(dataDir, { recursive: true, force: true });
}

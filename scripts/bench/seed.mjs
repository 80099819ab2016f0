// Orders on PostgreSQL against the seed: our three services (fresh PostgreSQL schemas,
// TEST_DATABASE_URL, by default the local server) and the seed's three Flask services
// (../shared/anchors/seed, or SEED_DIR) under gunicorn as its Dockerfiles run them, 2 sync workers
// each, in a temporary copy changed as its README says a fair comparison must: stock raised to
// 10^9 (else it measures refusals) and the 100 ms notification sleep removed. Closed loop (each
// client places the next order when the last is answered) at 8, 32 and 64 clients (BENCH_CLIENTS),
// BENCH_SECONDS (5) after 1 s of warm-up, BENCH_ROUNDS (3) rounds, each round starting the
// contenders afresh in turn, starting with a different one each round; medians over rounds.
// Prints orders/s, p99, the share shed (503) and CPU per order (the services' processes, and every
// PostgreSQL process) per contender, with the machine's load average,
// then ours / seed against the goal (issue 22: >= 2x the orders/s, p99 no worse, nothing shed at
// 64). BENCH_BASELINE=<dir>, another built checkout, runs as a third contender (before/after).
// Run after `npm run build`: `node scripts/bench/seed.mjs`. About 1 minute per round and contender.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { freePort } from '../../cli/dist/drivers/local/supervisor.js';
import { benchSchemas } from '../bench-schemas.mjs';

const root = resolve(import.meta.dirname, '../..');
const seedDir = resolve(process.env.SEED_DIR ?? join(root, '../shared/anchors/seed'));
const baseline = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '8,32,64').split(',').map(Number);
/** Per measurement, whatever the time: a bound in count as well as in time. */
const MAX_REQUESTS = 1_000_000;
const ORDER = { product_id: 'PROD-001', quantity: 1, email: 'bench@example.com' };
const PYTHON_PACKAGES = 'python3-flask gunicorn python3-requests python3-prometheus-client';

function seedRunnable() {
  if (!existsSync(join(seedDir, 'services/order-service/app.py'))) return `no seed at ${seedDir} (SEED_DIR)`;
  try {
    // The modules must be there for gunicorn's own Python (its shebang), not whichever python3 is first.
    const gunicorn = execFileSync('sh', ['-c', 'command -v gunicorn'], { encoding: 'utf8' }).trim();
    const python = readFileSync(gunicorn, 'utf8')
      .split('\n', 1)[0]
      .replace(/^#!\s*/, '')
      .split(' ');
    execFileSync(python[0], [...python.slice(1), '-c', 'import flask, requests, prometheus_client'], {
      stdio: 'ignore',
    });
    return undefined;
  } catch {
    return `needs Debian's Flask and gunicorn: sudo apt-get install -y ${PYTHON_PACKAGES}`;
  }
}

const children = new Set();
const { withAdmin, fresh: freshSchema, dropAll: dropSchemas } = benchSchemas('seedbench');
const scratch = mkdtempSync(join(tmpdir(), 'bench-seed-'));

function start(command, args, { cwd, env }) {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true, // its own process group: gunicorn's workers go with it
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(-child.pid, 'SIGTERM');
  if ((await Promise.race([exited, sleep(10_000, 'timeout')])) === 'timeout')
    process.kill(-child.pid, 'SIGKILL');
}

async function waitReady(child, url) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(20)) {
    if (child.exitCode !== null)
      throw new Error(`${child.spawnargs.join(' ')} exited with ${child.exitCode}`);
    const res = await request(url).catch(() => undefined);
    await res?.body.dump();
    if (res?.statusCode === 200) return;
  }
  throw new Error(`not ready within 30 s: ${url}`);
}

/** Our three services of the checkout at `dir`, each on a fresh PostgreSQL schema. */
async function startOurs(dir) {
  const ports = { order: await freePort(), inventory: await freePort(), notification: await freePort() };
  const common = { HOST: '127.0.0.1', PROBE_PORT: '0', LOG_LEVEL: 'warn', SEED_STOCK: '1000000000' };
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => /^(DB_POOL|ADMISSION_|OUTBOX_)/.test(name)),
  );
  const specs = [
    ['inventory-service', ports.inventory, {}],
    ['notification-service', ports.notification, {}],
    [
      'order-service',
      ports.order,
      {
        INVENTORY_URL: `http://127.0.0.1:${ports.inventory}`,
        NOTIFICATION_URL: `http://127.0.0.1:${ports.notification}`,
      },
    ],
  ];
  const started = [];
  for (const [name, port, env] of specs) {
    const child = start(process.execPath, [join(dir, `apps/${name}/dist/main.js`)], {
      env: {
        ...common,
        ...passThrough,
        ...env,
        PORT: String(port),
        DATABASE_URL: String(await freshSchema()),
      },
    });
    started.push(child);
    await waitReady(child, `http://127.0.0.1:${port}/readyz`);
  }
  return {
    origin: `http://127.0.0.1:${ports.order}`,
    groups: new Set(started.map((child) => child.pid)),
    stop: () => Promise.all(started.map(stop)),
  };
}

/** The seed's three services from a temporary copy with the README's two changes. */
async function startSeed() {
  const copy = join(scratch, `seed-${randomBytes(4).toString('hex')}`);
  cpSync(join(seedDir, 'services'), copy, { recursive: true });
  const patch = (file, from, to) => {
    const path = join(copy, file);
    const text = readFileSync(path, 'utf8');
    const patched = text.replace(from, to);
    if (patched === text) throw new Error(`the seed's ${file} changed: ${from} not found`);
    writeFileSync(path, patched);
  };
  patch('inventory-service/app.py', /'stock': \d+/g, "'stock': 1000000000");
  patch('notification-service/app.py', 'time.sleep(0.1)', 'pass');
  const ports = { order: await freePort(), inventory: await freePort(), notification: await freePort() };
  const gunicorn = (service, port, env = {}) =>
    start('gunicorn', ['--bind', `127.0.0.1:${port}`, '--workers', '2', '--timeout', '30', 'app:app'], {
      cwd: join(copy, service),
      env,
    });
  const started = [
    gunicorn('inventory-service', ports.inventory),
    gunicorn('notification-service', ports.notification),
    gunicorn('order-service', ports.order, {
      INVENTORY_SERVICE_URL: `http://127.0.0.1:${ports.inventory}`,
      NOTIFICATION_SERVICE_URL: `http://127.0.0.1:${ports.notification}`,
    }),
  ];
  await waitReady(started[0], `http://127.0.0.1:${ports.inventory}/health`);
  await waitReady(started[1], `http://127.0.0.1:${ports.notification}/health`);
  await waitReady(started[2], `http://127.0.0.1:${ports.order}/health`);
  return {
    origin: `http://127.0.0.1:${ports.order}`,
    groups: new Set(started.map((child) => child.pid)),
    stop: () => Promise.all(started.map(stop)),
  };
}

/**
 * CPU milliseconds used so far by every process in the process groups `groups` (a contender's
 * services, gunicorn's workers included), and by every PostgreSQL server process (the database's
 * share: other users of the server count too, so it is an upper bound), from /proc (Linux).
 */
function cpuMs(groups) {
  const used = { services: 0, postgres: 0 };
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // After the name: state, ppid, pgrp ... utime and stime are the 12th and 13th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
    if (groups.has(Number(fields[2]))) used.services += ms;
    else if (name === 'postgres') used.postgres += ms;
  }
  return used;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** `clients` closed-loop clients on keep-alive connections: 1 s of warm-up, then SECONDS measured. */
async function closedLoop({ origin, groups }, clients) {
  const pool = new Pool(origin, { connections: clients });
  const body = JSON.stringify(ORDER);
  const run = async (seconds) => {
    const latencies = [];
    const statuses = {};
    let sent = 0;
    const cpuBefore = cpuMs(groups);
    const began = performance.now();
    const stopAt = began + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < stopAt && sent < MAX_REQUESTS) {
          sent++;
          const t = performance.now();
          let status = 'error';
          try {
            const res = await pool.request({
              method: 'POST',
              path: '/orders',
              headers: { 'content-type': 'application/json' },
              body,
              headersTimeout: 10_000,
            });
            await res.body.dump();
            status = res.statusCode;
          } catch {
            await sleep(10); // refused or reset: do not spin
          }
          latencies.push(performance.now() - t);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const total = latencies.length;
    const cpuAfter = cpuMs(groups);
    return {
      cpuPerOrder: (cpuAfter.services - cpuBefore.services) / (statuses[201] ?? 1),
      pgCpuPerOrder: (cpuAfter.postgres - cpuBefore.postgres) / (statuses[201] ?? 1),
      rate: (statuses[201] ?? 0) / ((performance.now() - began) / 1000),
      p99: percentile(latencies, 99),
      shed: (statuses[503] ?? 0) / total,
      failed: (total - (statuses[201] ?? 0) - (statuses[503] ?? 0)) / total,
      load: loadavg()[0],
    };
  };
  try {
    await run(1);
    return await run(SECONDS);
  } finally {
    await pool.close();
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const pct = (share) => `${(share * 100).toFixed(1)}%`;

const unrunnable = seedRunnable();
if (unrunnable) {
  console.log(`goal: PostgreSQL orders/s against the seed: not measured, ${unrunnable}`);
  process.exit(0);
}
try {
  await withAdmin((client) => client.query('SELECT 1'));
} catch (error) {
  console.log(
    `goal: PostgreSQL orders/s against the seed: not measured, PostgreSQL unreachable (${error.message})`,
  );
  process.exit(0);
}

const contenders = [
  { label: 'ours, PostgreSQL', start: () => startOurs(root) },
  { label: 'seed, sleep removed', start: startSeed },
  ...(baseline ? [{ label: 'baseline, PostgreSQL', start: () => startOurs(baseline) }] : []),
];
const results = new Map(contenders.map((c) => [c, new Map(CLIENTS.map((n) => [n, []]))]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    const turn = [
      ...contenders.slice(round % contenders.length),
      ...contenders.slice(0, round % contenders.length),
    ];
    for (const contender of turn) {
      const running = await contender.start();
      try {
        for (const clients of CLIENTS)
          results
            .get(contender)
            .get(clients)
            .push(await closedLoop(running, clients));
      } finally {
        await running.stop();
      }
    }
  }
  console.log(
    `orders on PostgreSQL against the seed: closed loop, ${SECONDS} s per figure, median of ${ROUNDS} interleaved rounds`,
  );
  const summary = (contender, clients) => {
    const runs = results.get(contender).get(clients);
    return {
      rate: median(runs.map((r) => r.rate)),
      p99: median(runs.map((r) => r.p99)),
      shed: Math.max(...runs.map((r) => r.shed)),
      failed: Math.max(...runs.map((r) => r.failed)),
      load: median(runs.map((r) => r.load)),
      cpu: median(runs.map((r) => r.cpuPerOrder)),
      pgCpu: median(runs.map((r) => r.pgCpuPerOrder)),
    };
  };
  const verdicts = [];
  for (const clients of CLIENTS) {
    console.log(`  ${clients} clients`);
    for (const contender of contenders) {
      const r = summary(contender, clients);
      console.log(
        `    ${contender.label.padEnd(22)} ${r.rate.toFixed(0).padStart(6)} orders/s   p99 ${r.p99.toFixed(0).padStart(5)} ms   shed ${pct(r.shed)} (worst round)   other failures ${pct(r.failed)}   CPU/order ${r.cpu.toFixed(2)} ms + PostgreSQL ${r.pgCpu.toFixed(2)} ms   load ${r.load.toFixed(1)}`,
      );
    }
    const ours = summary(contenders[0], clients);
    const seed = summary(contenders[1], clients);
    const met = ours.rate >= 2 * seed.rate && ours.p99 <= seed.p99 && ours.shed === 0;
    console.log(
      `    ours / seed: orders/s ${(ours.rate / seed.rate).toFixed(2)}x (goal >= 2x), p99 ${(ours.p99 / seed.p99).toFixed(2)}x (goal <= 1x), shed ${pct(ours.shed)} (goal 0): ${met ? 'met' : 'NOT met'}`,
    );
    verdicts.push({
      clients,
      met,
      figures: `c${clients} ${(ours.rate / seed.rate).toFixed(2)}x, p99 ${(ours.p99 / seed.p99).toFixed(2)}x, shed ${pct(ours.shed)}`,
    });
  }
  console.log(
    `goal: PostgreSQL orders/s >= 2x the seed's, p99 no worse, nothing shed, at ${CLIENTS.map((c) => `c${c}`).join(', ')}: ` +
      `${verdicts.every((v) => v.met) ? 'met' : 'NOT met'} (${verdicts.map((v) => v.figures).join('; ')}) [load ${loadavg()[0].toFixed(1)}; median of ${ROUNDS} rounds]`,
  );
} finally {
  await Promise.all([...children].map(stop));
  rmSync(scratch, { recursive: true, force: true });
  await dropSchemas();
}

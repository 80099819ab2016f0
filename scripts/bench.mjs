// `npm run bench`: figures, not assertions, measured in one run on 127.0.0.1 and bounded in time.
//  1. orders/s with p50/p99 latency from concurrent clients through the three services (default
//     configuration, logs to /dev/null), on SQLite and on PostgreSQL (TEST_DATABASE_URL, by default
//     the local server; skipped with a line when unreachable), and each service's spawn to ready;
//  2. the stack's overhead: inventory-service's GET /inventory/:id against a bare Fastify app doing
//     the same database call (scripts/bare-app.mjs), with default request logging and with every
//     request logged;
//  3. every scripts/bench/*.mjs, each in its own child process, its output printed as it comes;
//     then every line a script began with `goal: ` (an issue's target, measured in this run as a
//     ratio against its anchor, and whether it is met), together at the end.
// BENCH_BASELINE=<dir>, another built checkout, measures 1 and 2 for it as well, interleaved, and
// prints this tree's figures as ratios to it.
//   BENCH_SECONDS (5) measured after BENCH_WARMUP_SECONDS (1); BENCH_CONCURRENCY (16) clients;
//   BENCH_ROUNDS (1, or 3 with a baseline), medians over rounds; BENCH_SCRIPTS: a comma-separated
//   list of scripts/bench names to run, or "none"; BENCH_SCRIPT_TIMEOUT_S (600) each.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { cpuOf, freePort } from '../cli/dist/drivers/local/supervisor.js';
import { benchSchemas, postgresUrl } from './bench-schemas.mjs';

const root = resolve(import.meta.dirname, '..');

function setting(name, fallback, { integer = false, min = 0, max }) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    console.error(`bench: ${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    process.exit(2);
  }
  return value;
}

const baseline = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
if (baseline && !existsSync(join(baseline, 'apps/order-service/dist/main.js'))) {
  console.error(`bench: BENCH_BASELINE ${baseline} has no built apps/order-service/dist/main.js`);
  process.exit(2);
}
const seconds = setting('BENCH_SECONDS', 5, { min: 0.5, max: 600 });
const warmupSeconds = setting('BENCH_WARMUP_SECONDS', 1, { max: 60 });
const concurrency = setting('BENCH_CONCURRENCY', 16, { integer: true, min: 1, max: 1024 });
const rounds = setting('BENCH_ROUNDS', baseline ? 3 : 1, { integer: true, min: 1, max: 20 });
const scriptTimeoutS = setting('BENCH_SCRIPT_TIMEOUT_S', 600, { min: 1, max: 3600 });
/** Per measurement, whatever the time: a bound in count as well as in time. */
const MAX_REQUESTS = 1_000_000;

const trees = [
  { label: 'this tree', dir: root },
  ...(baseline ? [{ label: 'baseline', dir: baseline }] : []),
];
const scratch = mkdtempSync(join(tmpdir(), 'chaos-bench-'));
const children = new Set();
const { withAdmin, fresh: freshSchema, dropAll: dropSchemas } = benchSchemas('bench');

function spawnNode(args, env) {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(10_000, 'timeout')])) === 'timeout') child.kill('SIGKILL');
}

/** Milliseconds from spawn until `url` answers 2xx. */
async function waitReady(child, url, started) {
  const what = child.spawnargs.slice(1).join(' ');
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(10)) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready`);
    if ((await fetch(url).catch(() => undefined))?.ok) return performance.now() - started;
  }
  throw new Error(`${what} not ready within 30 s (${url})`);
}

/** The three services of `tree`, on fresh SQLite files or fresh PostgreSQL schemas. */
async function startServices(tree, backend, extraEnv = {}) {
  const ports = { order: await freePort(), inventory: await freePort(), notification: await freePort() };
  const storage = async (service) => {
    if (backend === 'sqlite')
      return { DATA_DIR: join(scratch, `${service}-${randomBytes(4).toString('hex')}`) };
    return { DATABASE_URL: String(await freshSchema()) };
  };
  const specs = [
    { name: 'inventory-service', port: ports.inventory, env: await storage('inventory') },
    { name: 'notification-service', port: ports.notification, env: await storage('notification') },
    {
      name: 'order-service',
      port: ports.order,
      env: {
        ...(await storage('order')),
        INVENTORY_URL: `http://127.0.0.1:${ports.inventory}`,
        NOTIFICATION_URL: `http://127.0.0.1:${ports.notification}`,
      },
    },
  ];
  const started = specs.map((spec) => {
    const t = performance.now();
    const child = spawnNode([join(tree.dir, `apps/${spec.name}/dist/main.js`)], {
      ...spec.env,
      ...extraEnv,
      PORT: String(spec.port),
      // The probe listener on any free port: PORT + 1000 may be taken.
      PROBE_PORT: '0',
    });
    return { ...spec, child, ready: waitReady(child, `http://127.0.0.1:${spec.port}/readyz`, t) };
  });
  const readyMs = Object.fromEntries(await Promise.all(started.map(async (s) => [s.name, await s.ready])));
  return {
    started,
    readyMs,
    origin: (name) => `http://127.0.0.1:${started.find((s) => s.name === name)?.port}`,
    stop: () => Promise.all(started.map((s) => stop(s.child))),
  };
}

/** CPU milliseconds (user + system) a process has used so far, from /proc (Linux; else NaN). */
const cpuMs = async (pid) => (await cpuOf(pid)).cpuMs ?? Number.NaN;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * `concurrency` closed-loop clients on keep-alive connections: warm-up, then the measured run,
 * with the CPU each of `processes` ({name, pid}) spent per answered request during it.
 */
async function measure(origin, request, processes = []) {
  const pool = new Pool(origin, { connections: concurrency });
  const run = async (durationS) => {
    const latencies = [];
    const statuses = {};
    let sent = 0;
    const cpuBefore = await Promise.all(processes.map(({ pid }) => cpuMs(pid)));
    const began = performance.now();
    const stopAt = began + durationS * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < stopAt && sent < MAX_REQUESTS) {
          sent++;
          const t = performance.now();
          let status = 'error';
          try {
            const res = await pool.request(request);
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
    const cpuAfter = await Promise.all(processes.map(({ pid }) => cpuMs(pid)));
    const cpuPerRequest = Object.fromEntries(
      processes.map(({ name }, i) => [name, (cpuAfter[i] - cpuBefore[i]) / latencies.length]),
    );
    return {
      cpuPerRequest,
      rate: latencies.length / ((performance.now() - began) / 1000),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      statuses,
    };
  };
  try {
    if (warmupSeconds > 0) await run(warmupSeconds);
    return await run(seconds);
  } finally {
    await pool.close();
  }
}

const placeOrder = {
  method: 'POST',
  path: '/orders',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ product_id: 'PROD-001', quantity: 1, email: 'bench@example.com' }),
};
const readProduct = { method: 'GET', path: '/inventory/PROD-001' };

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const medians = (results) => ({
  cpuPerRequest: Object.fromEntries(
    Object.keys(results[0].cpuPerRequest).map((name) => [
      name,
      median(results.map((r) => r.cpuPerRequest[name])),
    ]),
  ),
  rate: median(results.map((r) => r.rate)),
  p50: median(results.map((r) => r.p50)),
  p99: median(results.map((r) => r.p99)),
  statuses: results.at(-1)?.statuses ?? {},
});
const figures = (r, unit) =>
  `${r.rate.toFixed(0).padStart(6)} ${unit}/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms`;
const line = (label, text) => console.log(`  ${label.padEnd(40)} ${text}`);
const ratio = (value) => `${value.toFixed(2)}x`;
/** Each round runs the trees in turn, starting with a different one, so drift favours none. */
const inTurn = (round) => (round % 2 ? [...trees].reverse() : trees);

async function ordersOn(backend) {
  const results = new Map(trees.map((tree) => [tree, { orders: [], ready: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const tree of inTurn(round)) {
      const services = await startServices(tree, backend);
      try {
        results.get(tree).ready.push(services.readyMs);
        const processes = services.started.map((s) => ({ name: s.name, pid: s.child.pid }));
        results.get(tree).orders.push(await measure(services.origin('order-service'), placeOrder, processes));
      } finally {
        await services.stop();
      }
    }
  }
  const title = backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  console.log(`\norders on ${title}: ${concurrency} clients, ${seconds} s, median of ${rounds}`);
  for (const tree of trees) {
    const { orders, ready } = results.get(tree);
    const r = medians(orders);
    line(tree.label, `${figures(r, 'orders')}   statuses ${JSON.stringify(r.statuses)}`);
    const cpu = Object.entries(r.cpuPerRequest).map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`);
    line('', `CPU per order: ${cpu.join(', ')}`);
    const spawnToReady = Object.keys(ready[0]).map(
      (name) => `${name} ${median(ready.map((x) => x[name])).toFixed(0)} ms`,
    );
    line('', `spawn to ready: ${spawnToReady.join(', ')}`);
  }
  if (baseline) {
    line(
      'this tree / baseline',
      ratios(medians(results.get(trees[0]).orders), medians(results.get(trees[1]).orders)),
    );
  }
  return medians(results.get(trees[0]).orders);
}

const ratios = (a, b) =>
  `orders/s ${ratio(a.rate / b.rate)}   p50 ${ratio(a.p50 / b.p50)}   p99 ${ratio(a.p99 / b.p99)}   ` +
  `order-service CPU per order ${ratio(a.cpuPerRequest['order-service'] / b.cpuPerRequest['order-service'])}`;

async function stackOverhead() {
  const variants = [
    ...trees.map((tree) => ({ label: `inventory-service, ${tree.label}`, tree, env: {} })),
    {
      label: 'inventory-service, every request logged',
      tree: trees[0],
      env: { LOG_REQUEST_SAMPLE_RATE: '1' },
    },
  ];
  const results = new Map([...variants, 'bare'].map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...variants].reverse() : variants;
    for (const variant of order) {
      const dataDir = join(scratch, `overhead-${randomBytes(4).toString('hex')}`);
      const port = await freePort();
      const t = performance.now();
      const service = spawnNode([join(variant.tree.dir, 'apps/inventory-service/dist/main.js')], {
        DATA_DIR: dataDir,
        PORT: String(port),
        PROBE_PORT: '0',
        ...variant.env,
      });
      try {
        await waitReady(service, `http://127.0.0.1:${port}/readyz`, t);
        results
          .get(variant)
          .push(await measure(`http://127.0.0.1:${port}`, readProduct, [{ name: 'app', pid: service.pid }]));
        // The floor, once a round, on the file this service seeded (it sits idle meanwhile).
        if (variant === order[0]) {
          const barePort = await freePort();
          const bare = spawnNode([
            join(root, 'scripts/bare-app.mjs'),
            join(dataDir, 'inventory.db'),
            String(barePort),
          ]);
          try {
            await waitReady(bare, `http://127.0.0.1:${barePort}${readProduct.path}`, performance.now());
            results
              .get('bare')
              .push(
                await measure(`http://127.0.0.1:${barePort}`, readProduct, [{ name: 'app', pid: bare.pid }]),
              );
          } finally {
            await stop(bare);
          }
        }
      } finally {
        await stop(service);
      }
    }
  }
  const bare = medians(results.get('bare'));
  console.log(
    `\nstack overhead, GET ${readProduct.path} on SQLite: ${concurrency} clients, ${seconds} s, median of ${rounds}`,
  );
  const cpu = (r) => `CPU ${(r.cpuPerRequest.app * 1000).toFixed(0).padStart(4)} us/req`;
  line('bare Fastify + node:sqlite', `${figures(bare, 'req')}   ${cpu(bare)}`);
  for (const variant of variants) {
    const r = medians(results.get(variant));
    line(
      variant.label,
      `${figures(r, 'req')}   ${cpu(r)}   costs ${ratio(bare.rate / r.rate)} throughput, ${ratio(r.cpuPerRequest.app / bare.cpuPerRequest.app)} CPU`,
    );
  }
}

async function postgresReachable() {
  try {
    await withAdmin((client) => client.query('SELECT 1'));
    return true;
  } catch (error) {
    const where = URL.parse(postgresUrl)?.host ?? 'TEST_DATABASE_URL';
    console.log(`\norders on PostgreSQL: skipped, ${where} unreachable (${error.message})`);
    return false;
  }
}

/** Each script's `goal: ...` lines (an issue's target, its figures and met / NOT met), in order. */
const goals = [];

/**
 * Runs scripts/bench/<name>.mjs in a child process of its own, in a process group of its own, so
 * that stopping it (timeout, Ctrl-C) stops whatever it started too; its output is printed as it
 * comes, and its goal lines are kept for the summary.
 */
async function runScript(file) {
  const name = `scripts/bench/${basename(file)}`;
  console.log(`\n== ${name} ==`);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (text) => {
    console.log(text);
    if (text.startsWith('goal: ')) goals.push(`${basename(file, '.mjs')}: ${text.slice('goal: '.length)}`);
  });
  const group = { kill: (signal) => process.kill(-child.pid, signal) };
  children.add(group);
  const exited = once(child, 'exit');
  const timer = setTimeout(() => {
    console.log(`${name}: no result within ${scriptTimeoutS} s, stopped`);
    group.kill('SIGTERM');
  }, scriptTimeoutS * 1000);
  const [code, signal] = await exited;
  clearTimeout(timer);
  children.delete(group);
  // What the script left running (it was stopped, or it leaked) goes with it.
  try {
    group.kill('SIGKILL');
  } catch {
    // ESRCH: nothing left in the group
  }
  if (code !== 0) {
    console.log(`${name} exited with ${code ?? signal}`);
    process.exitCode = 1;
  }
}

function benchScripts() {
  const dir = join(root, 'scripts/bench');
  const all = existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.mjs'))
        .sort()
    : [];
  const wanted = process.env.BENCH_SCRIPTS;
  if (wanted === 'none') return [];
  if (!wanted) return all.map((name) => join(dir, name));
  const names = wanted.split(',').map((name) => name.trim().replace(/\.mjs$/, ''));
  const unknown = names.filter((name) => !all.includes(`${name}.mjs`));
  if (unknown.length) {
    console.error(`bench: no scripts/bench/${unknown[0]}.mjs (there are: ${all.join(', ') || 'none'})`);
    process.exit(2);
  }
  return names.map((name) => join(dir, `${name}.mjs`));
}

const scripts = benchScripts();
process.once('SIGINT', () => {
  for (const child of children) {
    try {
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
  process.exit(130);
});
try {
  console.log(
    `chaos-platform bench: ${baseline ? `this tree against ${baseline}` : 'this tree'}, load average ${loadavg()[0].toFixed(1)}; figures from a shared machine vary, compare within one run`,
  );
  const sqlite = await ordersOn('sqlite');
  if (await postgresReachable()) {
    const postgres = await ordersOn('postgres');
    console.log(`\nthis tree, PostgreSQL / SQLite: ${ratios(postgres, sqlite)}`);
  }
  await stackOverhead();
} catch (error) {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
} finally {
  await Promise.all([...children].map(stop));
  rmSync(scratch, { recursive: true, force: true });
  await dropSchemas().catch((error) => console.error(`bench: could not drop its schemas: ${error.message}`));
}
for (const file of scripts) await runScript(file);
if (goals.length > 0) {
  console.log(`\n== goals, each measured in this run (load average now ${loadavg()[0].toFixed(1)}) ==`);
  for (const goal of goals) console.log(`  ${goal}`);
}

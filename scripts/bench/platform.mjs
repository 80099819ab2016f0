// Local platform benchmark: what the supervisor's front ports cost, and how fast a killed replica
// is back. Prints
// - orders/s and p50/p99 of a closed loop (CONNECTIONS clients, no think time) against the three
//   services wired to each other directly, then through the local platform (1 replica each, so the
//   only difference is the front in front of order-service and of its two downstreams), and the
//   supervisor's CPU per order;
// - local pod-kill recovery (kill of an order-service replica -> its replacement ready, as the
//   supervisor's status reports it by long-poll, as chaosctl learns it) over KILLS kills under
//   100 orders/s of open-model traffic from a client that retries twice with the Idempotency-Key,
//   with the requests a kill cut off and those that failed even so counted, against the floor: a
//   bare spawn of order-service until its /readyz answers 200 (bundled, as the supervisor and the
//   images run it, and unbundled), and a bare Fastify app until it listens;
// - where a recovery goes, step by step (the successor's start as the supervisor saw it, and inside
//   the service's own start from bare spawns with a timing hook, and the CPU those took to
//   listening), and last whether issue 22's goal
//   is met: recovery p50 within 1.3x the bare Fastify floor of the same run, with 0 failed requests.
// Run after `npm run build`: `node scripts/bench/platform.mjs`. Bounded: about one minute. 127.0.0.1
// only. SUPERVISOR_DIR=<dir with supervisor-main.js> measures another build of the supervisor;
// BENCH_ONLY=recovery the recovery alone; BENCH_BASE_PORT=<port> keeps its own ports in the 1000 from it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { demoPlatform } from '../../cli/dist/drivers/local/demo-platform.js';
import { watchStatus } from '../../cli/dist/drivers/local/platform.js';
import { cpuOf, freePort } from '../../cli/dist/drivers/local/supervisor.js';
import { builtIn } from '../../cli/dist/suite/load.js';
import { percentile as pct } from '../../cli/dist/traffic/stats.js';

const root = resolve(import.meta.dirname, '../..');
const supervisorDir = resolve(process.env.SUPERVISOR_DIR ?? join(root, 'cli/bundle'));
const { LoadGenerator } = await import(
  join(process.env.TRAFFIC_DIR ?? join(root, 'cli/dist/traffic'), 'load.js')
);
const LOAD_S = Number(process.env.BENCH_LOAD_S ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const KILLS = Number(process.env.BENCH_KILLS ?? 20);
const SERVICES = ['inventory-service', 'notification-service', 'order-service'];
const ENV = { LOG_LEVEL: 'warn', SEED_STOCK: '100000000' };
/** BENCH_BASE_PORT: every port the benchmark chooses (fronts, control, floors) from it upwards. */
const BASE_PORT = process.env.BENCH_BASE_PORT === undefined ? undefined : Number(process.env.BENCH_BASE_PORT);
let portsTaken = 0;
/** A port to listen on: any free one, or the next free one from BENCH_BASE_PORT (1000 at most). */
async function port() {
  if (BASE_PORT === undefined) return freePort();
  while (portsTaken < 1000) {
    const candidate = BASE_PORT + portsTaken++;
    if (await isFree(candidate)) return candidate;
  }
  throw new Error(`no free port left in ${BASE_PORT}-${BASE_PORT + 999}`);
}
const isFree = (candidate) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(candidate, '127.0.0.1', () => server.close(() => resolve(true)));
  });
/** What a replica runs (the demo platform's bundle), from the repository root. */
const replicaEntry = (service) => join(root, 'apps', service, 'bundle/main.mjs');

const children = new Set();
const dirs = [];
const tempDir = (name) => {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  dirs.push(dir);
  return dir;
};
const run = (args, env) => {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
};
const stopChild = (child) =>
  new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGTERM');
  });

async function get(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Polls every `everyMs` until `check` holds; bounded by `timeoutMs`. */
async function until(check, { everyMs = 2, timeoutMs = 30_000, what = 'condition' } = {}) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ms = (n) => `${n.toFixed(0)} ms`;
/** Issue 22's goal for a local pod kill: recovery p50 within this of the bare Fastify floor. */
const GOAL_RATIO = 1.3;
const load = () =>
  loadavg()
    .map((n) => n.toFixed(1))
    .join(' ');

/** Closed loop: CONNECTIONS clients each place orders back to back for LOAD_S seconds. */
async function closedLoop(url) {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
  const latencies = [];
  let failed = 0;
  const failures = {};
  const end = performance.now() + LOAD_S * 1000;
  const body = JSON.stringify({ product_id: 'PROD-001', quantity: 1, email: 'bench@example.com' });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          const res = await pool.request({
            path: '/orders',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            headersTimeout: 10_000,
          });
          await res.body.dump();
          if (res.statusCode !== 201) {
            failed++;
            failures[res.statusCode] = (failures[res.statusCode] ?? 0) + 1;
          }
        } catch (error) {
          failed++;
          failures[error.code] = (failures[error.code] ?? 0) + 1;
        }
        latencies.push(performance.now() - started);
      }
    }),
  );
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    rate: latencies.length / LOAD_S,
    failed: failed ? `${failed} ${JSON.stringify(failures)}` : 0,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
  };
}

/** The three services wired to each other directly, as the supervisor runs them: the platform's ceiling. */
async function direct() {
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await port()])));
  const started = SERVICES.map((service) =>
    run([replicaEntry(service)], {
      ...ENV,
      HOST: '127.0.0.1',
      PORT: String(ports[service]),
      PROBE_PORT: '0',
      DATA_DIR: tempDir(service),
      INVENTORY_URL: `http://127.0.0.1:${ports['inventory-service']}`,
      NOTIFICATION_URL: `http://127.0.0.1:${ports['notification-service']}`,
    }),
  );
  for (const service of SERVICES)
    await until(async () => (await get(`http://127.0.0.1:${ports[service]}/readyz`)).status === 200, {
      what: `${service} ready`,
    });
  const result = await closedLoop(`http://127.0.0.1:${ports['order-service']}`);
  await Promise.all(started.map(stopChild));
  return result;
}

async function startPlatform(replicas) {
  const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await port()])));
  const controlPort = await port();
  const stateDir = tempDir('platform');
  const config = {
    targets: Object.entries(demoPlatform({ env: ENV })).map(([name, run]) => ({
      name,
      port: ports[name],
      run: { ...run, replicas },
    })),
    dataDir: join(stateDir, 'data'),
    controlPort,
  };
  const child = run([join(supervisorDir, 'supervisor-main.js'), JSON.stringify(config)], {});
  const control = `http://127.0.0.1:${controlPort}`;
  const status = async () => (await get(`${control}/status`)).body;
  await until(
    async () => Object.values((await status()).services).every((s) => s.replicas.every((r) => r.ready)),
    { everyMs: 20, what: 'the local platform ready' },
  );
  return { child, control, status, orderUrl: `http://127.0.0.1:${ports['order-service']}` };
}

/** CPU time a process has used (user + system, ms), from /proc: robust to a busy machine. */
async function cpuMs(pid) {
  const used = (await cpuOf(pid)).cpuMs;
  if (used === null) throw new Error(`cannot read the CPU time of process ${pid} from /proc`);
  return used;
}

async function throughPlatform() {
  const platform = await startPlatform(1);
  const before = await cpuMs(platform.child.pid);
  const result = await closedLoop(platform.orderUrl);
  result.supervisorCpuUs = (((await cpuMs(platform.child.pid)) - before) * 1000) / (result.rate * LOAD_S);
  await stopChild(platform.child);
  return result;
}

async function recovery() {
  const platform = await startPlatform(2);
  // A kill cuts off the requests the killed process held (as behind a Service); a client that
  // retries with the Idempotency-Key, as chaosctl's default suite does, gets them served.
  const load = new LoadGenerator({
    requests: builtIn().traffic.requests,
    urlOf: { 'order-service': platform.orderUrl },
    rps: 100,
    retry: { retries: 2, backoffMs: 20 },
  });
  load.start();
  await sleep(1000);
  // The same floor as in recoveryFigures, taken beside the platform and its traffic, as the
  // successors start: what the busy platform alone adds, apart from the successor's own start.
  const floorUnderLoad = await floor(...fastifyFloorArgs, 6);
  const times = [];
  /** Each successor's start as the supervisor saw it (ReplicaStatus.startup, epoch ms), and when we learned it was ready. */
  const startups = [];
  const cpu = [];
  for (let i = 0; i < KILLS; i++) {
    const id = `order-service-${i % 2}`;
    const before = (await platform.status()).services['order-service'].replicas.find((r) => r.id === id);
    const killedAt = performance.now();
    const res = await fetch(`${platform.control}/kill/order-service/${id}`, { method: 'POST' });
    await res.arrayBuffer();
    // Learned by event, as chaosctl learns it: a long-poll the supervisor answers on the change.
    let back;
    const isBack = (status) => {
      back = status.services['order-service'].replicas.find((r) => r.id === id);
      return back.ready && back.pid !== before.pid;
    };
    await watchStatus(platform.control, isBack, { signal: AbortSignal.timeout(30_000) });
    if (!back?.ready || back.pid === before.pid) throw new Error(`${id} was not back within 30 s`);
    times.push(performance.now() - killedAt);
    const learnedAt = Date.now();
    await sleep(300);
    // Read again: its first caller and its predecessor's exit may come after its readiness.
    const after = (await platform.status()).services['order-service'].replicas.find((r) => r.id === id);
    startups.push({ ...(after.pid === back.pid ? after : back).startup, learnedAt });
    // Read when the watcher learned it was ready: the CPU its start took.
    if (back.cpuMs !== null) cpu.push(back.cpuMs);
  }
  const samples = await load.stop();
  await stopChild(platform.child);
  times.sort((a, b) => a - b);
  const failures = {};
  // By status, and by who answered: a replica says so in X-Served-By, the supervisor does not.
  for (const s of samples.filter((s) => s.status === 0 || s.status >= 500)) {
    const key = `${s.status}${s.servedBy ? ` from ${s.servedBy}` : ''}`;
    failures[key] = (failures[key] ?? 0) + 1;
  }
  const failed = Object.values(failures).reduce((sum, n) => sum + n, 0);
  return {
    p50: pct(times, 50),
    p95: pct(times, 95),
    steps: stepsOf(startups),
    floorUnderLoad,
    cpuP50: cpu.length
      ? pct(
          cpu.sort((a, b) => a - b),
          50,
        )
      : undefined,
    failed: failed ? `${failed} ${JSON.stringify(failures)}` : 0,
    cutOff: samples.filter((s) => s.attempts > 1).length,
    requests: samples.length,
  };
}

/**
 * What sits between a kill and a ready successor, step by step: the median of each step over the
 * kills ('-' when the supervisor did not tell it, as an older one does not).
 */
function stepsOf(startups) {
  const step = (name, from, to, note = '') => {
    const spans = startups
      .filter((s) => s[from] != null && s[to] != null)
      .map((s) => s[to] - s[from])
      .sort((a, b) => a - b);
    return { name, p50: spans.length ? pct(spans, 50) : undefined, note };
  };
  return [
    step(
      'kill -> exit seen',
      'killedAt',
      'predecessorExitAt',
      '(off the path: the successor starts at once)',
    ),
    step('kill -> successor spawned', 'killedAt', 'spawnedAt', "(the supervisor's delay)"),
    step('spawn -> Node.js started', 'spawnedAt', 'processAt', '(fork, exec)'),
    step('Node.js started -> ready for code', 'processAt', 'nodeReadyAt', '(its bootstrap and the guard)'),
    step(
      'ready for code -> listening',
      'nodeReadyAt',
      'listeningAt',
      '(the service: modules, config, database, app)',
    ),
    step('listening -> ready', 'listeningAt', 'readyAt', '(readiness learned by the supervisor)'),
    step('ready -> learned by a watcher', 'readyAt', 'learnedAt', '(status long-poll, as chaosctl)'),
    step('ready -> first connection', 'readyAt', 'firstConnectionAt', '(first caller handed over)'),
  ];
}

/**
 * Inside the service's own start (the step 'ready for code -> listening'), from `count` bare spawns
 * of the bundle with a timing hook (scripts/start-steps-hook.mjs): medians of each step, and of the
 * CPU each spawn took to listening.
 */
async function serviceSteps(env, count = 6) {
  const runs = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(
      process.execPath,
      ['--import', join(import.meta.dirname, '..', 'start-steps-hook.mjs'), replicaEntry('order-service')],
      {
        cwd: root,
        env: { PATH: process.env.PATH, ...env, PORT: String(await port()) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.add(child);
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const code = await new Promise((done) => child.once('exit', done));
    children.delete(child);
    const line = err.split('\n').find((l) => l.startsWith('start-steps '));
    if (code !== 0 || !line) throw new Error(`a timed start of order-service failed: ${err}`);
    runs.push(JSON.parse(line.slice('start-steps '.length)));
  }
  const cpu = runs.map((r) => r.cpuMs).sort((a, b) => a - b);
  const names = Object.keys(runs[0]).filter((name) => name !== 'cpuMs');
  const steps = names.slice(1).map((name, i) => {
    const spans = runs.map((r) => r[name] - r[names[i]]).sort((a, b) => a - b);
    return { name: `${names[i]} -> ${name}`, p50: pct(spans, 50) };
  });
  return { steps, cpuP50: pct(cpu, 50) };
}

/** Spawn to ready, `count` times: what no supervisor can beat. */
async function floor(args, env, readyPath, count = 10) {
  const times = [];
  /** CPU each used to get there: what a busy machine changes least. */
  const cpu = [];
  for (let i = 0; i < count; i++) {
    const listenOn = await port();
    const started = performance.now();
    const child = run(args, { ...env, PORT: String(listenOn) });
    await until(async () => (await fetch(`http://127.0.0.1:${listenOn}${readyPath}`)).status === 200, {
      everyMs: 1,
      what: 'a bare spawn ready',
    });
    times.push(performance.now() - started);
    cpu.push(await cpuMs(child.pid));
    await stopChild(child);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { p50: pct(times, 50), p95: pct(times, 95), cpuP50: pct(cpu, 50) };
}

const bareFastify = `
import Fastify from 'fastify';
const app = Fastify();
app.get('/', async () => 'ok');
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));`;
/** floor()'s arguments for the bare Fastify app. */
const fastifyFloorArgs = [
  ['--input-type=module', '-e', bareFastify],
  { NODE_PATH: join(root, 'node_modules') },
  '/',
];

try {
  console.log(
    `local platform benchmark (${LOAD_S} s closed loop, ${CONNECTIONS} connections; ${KILLS} kills; ` +
      `load average ${load()})`,
  );
  if (process.env.BENCH_ONLY === 'recovery') {
    await recoveryFigures();
  } else {
    const plain = await direct();
    const platform = await throughPlatform();
    const line = (name, r) =>
      `  ${name.padEnd(24)} ${r.rate.toFixed(0).padStart(6)} orders/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  failed ${r.failed}`;
    console.log('throughput (1 replica per service)');
    console.log(line('direct', plain));
    console.log(line('through the platform', platform));
    console.log(`  platform/direct: ${(platform.rate / plain.rate).toFixed(2)}x`);
    console.log(`  supervisor (every front hop) CPU per order: ${platform.supervisorCpuUs.toFixed(0)} us`);
    // BENCH_ONLY=throughput: the first half alone, for quick interleaved comparisons.
    if (process.env.BENCH_ONLY !== 'throughput') await recoveryFigures();
  }
} finally {
  await Promise.all([...children].map(stopChild));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

async function recoveryFigures() {
  const orderEnv = {
    ...ENV,
    HOST: '127.0.0.1',
    DATA_DIR: tempDir('floor'),
    INVENTORY_URL: 'http://127.0.0.1:9',
  };
  const orderFloor = await floor([replicaEntry('order-service')], orderEnv, '/readyz');
  const unbundledFloor = await floor([join(root, 'apps/order-service/dist/main.js')], orderEnv, '/readyz');
  const fastifyFloor = await floor(...fastifyFloorArgs);
  const inService = await serviceSteps({
    ...orderEnv,
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'node-compile-cache'),
  });
  const kills = await recovery();
  console.log(`recovery of a killed order-service replica (2 replicas, 100 orders/s)`);
  console.log(
    `  local platform           p50 ${ms(kills.p50)}  p95 ${ms(kills.p95)}  failed ${kills.failed} of ${kills.requests} requests`,
  );
  console.log(`  cut off by a kill, then retried: ${kills.cutOff} requests`);
  console.log(
    `  floor: order-service    p50 ${ms(orderFloor.p50)}  p95 ${ms(orderFloor.p95)} (spawn to /readyz 200, bundled, as replicas and images run it)`,
  );
  console.log(
    `  order-service unbundled  p50 ${ms(unbundledFloor.p50)}  p95 ${ms(unbundledFloor.p95)} (dist/main.js, what the bundle saves)`,
  );
  console.log(
    `  floor: bare Fastify     p50 ${ms(fastifyFloor.p50)}  p95 ${ms(fastifyFloor.p95)} (spawn to listening)`,
  );
  console.log(`  recovery/floor (order-service): ${(kills.p50 / orderFloor.p50).toFixed(2)}x`);
  const ratio = kills.p50 / fastifyFloor.p50;
  console.log(`  recovery/floor (bare Fastify): ${ratio.toFixed(2)}x`);
  const underLoad = kills.floorUnderLoad;
  console.log(
    `  bare Fastify beside the platform and its traffic, as the successors start: p50 ${ms(underLoad.p50)}, CPU ${ms(underLoad.cpuP50)}; ` +
      `recovery/that: ${(kills.p50 / underLoad.p50).toFixed(2)}x (for reference: the goal is against the floor above)`,
  );
  console.log('where a recovery goes (medians over the kills; steps overlap where noted)');
  const row = (name, p50, note = '') =>
    console.log(`  ${name.padEnd(36)} ${p50 === undefined ? '     -' : ms(p50).padStart(7)}  ${note}`);
  for (const step of kills.steps) row(step.name, step.p50, step.note);
  console.log('  inside the service start (bare spawns of the bundle, compile cache on, a timing hook):');
  for (const step of inService.steps) row(`  ${step.name}`, step.p50);
  row('    CPU to listening', inService.cpuP50, '(user + system, the same spawns)');
  row('kill -> successor ready, learned', kills.p50, '(the recovery above)');
  console.log(
    `  CPU to ready (robust to a busy machine): successor p50 ${kills.cpuP50 === undefined ? '-' : ms(kills.cpuP50)}, ` +
      `bare Fastify p50 ${ms(fastifyFloor.cpuP50)}, order-service bare spawn p50 ${ms(orderFloor.cpuP50)}`,
  );
  const met = ratio <= GOAL_RATIO && kills.failed === 0;
  console.log(
    `goal: recovery p50 <= ${GOAL_RATIO}x the bare Fastify floor with 0 failed requests: ${met ? 'met' : 'NOT met'} ` +
      `(${ratio.toFixed(2)}x, ${ms(kills.p50)} against ${ms(fastifyFloor.p50)}, failed ${kills.failed}; ` +
      `load average ${load()})`,
  );
}

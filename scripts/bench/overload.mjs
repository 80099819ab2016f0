// Overload benchmark: starts the three services from apps/*/dist on 127.0.0.1 and prints
// - the sustained order rate (highest open-model rate whose p99 stays under 100 ms, no errors),
// - p99 and shed share at 2x, 4x and 8x that rate, with probe answer times during each run,
// - the outbox drain rate (a notification backlog delivered per second once notification-service
//   is back).
// Open model: requests leave on a fixed schedule whatever the answers, and latency counts from the
// scheduled time, so a slow server is not hidden by a client that waits for it (coordinated omission).
// Run after `npm run build`: `node scripts/bench/overload.mjs`. Bounded: about 2-3 minutes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { freePort } from '../../cli/dist/drivers/local/supervisor.js';

// BENCH_ROOT: another checkout's built services (an earlier commit, for before/after figures).
const root = resolve(process.env.BENCH_ROOT ?? join(import.meta.dirname, '../..'));
const STEP_S = Number(process.env.BENCH_STEP_S ?? 3);
const OVERLOAD_S = Number(process.env.BENCH_OVERLOAD_S ?? 5);
const CLIENT_TIMEOUT_MS = 5000;
/** Sockets the generator may hold: far above what the services should accept in flight. */
const agent = new Agent({ keepAlive: true, maxSockets: 2000 });

/** Service settings given to the bench (ADMISSION_*, OUTBOX_*...) pass through, to compare tunings. */
const tuning = Object.fromEntries(
  Object.entries(process.env).filter(([name]) =>
    /^(ADMISSION_|OUTBOX_|LOAD_SHED_|DOWNSTREAM_|DB_POOL)/.test(name),
  ),
);
const children = [];
const dirs = [];

/** Stops the services, then removes their data (after they exit, or SQLite may write it again). */
async function cleanUp() {
  agent.destroy();
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(running.map((child) => once(child, 'exit')));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/** Starts a service (again, when given the port and directory of an earlier run). */
async function start(name, env, again) {
  const port = again?.port ?? (await freePort());
  const dir = again?.dir ?? mkdtempSync(join(tmpdir(), `bench-${name}-`));
  if (!again) dirs.push(dir);
  const child = spawn(process.execPath, [join(root, 'apps', name, 'dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      DATA_DIR: dir,
      ...tuning,
      ...env,
      PORT: String(port),
      // The probe listener on any free port: PORT + 1000 may be taken.
      PROBE_PORT: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(100)) {
    if (child.exitCode !== null) throw new Error(`${name} exited while starting`);
    const reply = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
    if (reply?.ok) return { url, port, dir, child };
  }
  throw new Error(`${name} not ready within 20 s`);
}

/** One request; resolves with status (0 for no answer) and ms since `scheduled`. */
function send(url, method, path, body, scheduled) {
  return new Promise((done) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}${path}`,
      {
        method,
        agent,
        timeout: CLIENT_TIMEOUT_MS,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? 0, ms: performance.now() - scheduled }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', () => done({ status: 0, ms: performance.now() - scheduled }));
    req.end(payload);
  });
}

const quantile = (values, q) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** Orders at `rate`/s for `seconds` (in the generator thread): each one's status and latency. */
async function placeOrders(orderUrl, rate, seconds) {
  const started = performance.now();
  const total = Math.round(rate * seconds);
  const pending = [];
  for (let i = 0; i < total; i++) {
    const scheduled = started + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(
      send(
        orderUrl,
        'POST',
        '/orders',
        { product_id: `PROD-00${(i % 5) + 1}`, quantity: 1, email: 'bench@example.com' },
        scheduled,
      ),
    );
  }
  const sentIn = (performance.now() - started) / 1000;
  const results = await Promise.all(pending);
  return { results, sentIn, answeredIn: (performance.now() - started) / 1000 };
}

/**
 * Orders at `rate`/s for `seconds` from a worker thread, with probes every 100 ms from this one:
 * the generator's own event loop never delays a probe's answer.
 */
async function run(orderUrl, rate, seconds) {
  const probes = [];
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const at = performance.now();
      const [h, r] = await Promise.all([
        send(orderUrl, 'GET', '/healthz', undefined, at),
        send(orderUrl, 'GET', '/readyz', undefined, at),
      ]);
      probes.push(
        h.status === 200 ? h.ms : Number.POSITIVE_INFINITY,
        r.status === 200 ? r.ms : Number.POSITIVE_INFINITY,
      );
      await sleep(Math.max(0, 100 - (performance.now() - at)));
    }
  })();
  generator.postMessage({ orderUrl, rate, seconds });
  const [{ results, sentIn, answeredIn }] = await once(generator, 'message');
  probing = false;
  await probeLoop;
  const ok = results.filter((r) => r.status === 201);
  const shed = results.filter((r) => r.status === 503);
  return {
    rate,
    sent: results.length,
    sentPerS: results.length / sentIn,
    ok: ok.length,
    shedShare: shed.length / results.length,
    errors: results.length - ok.length - shed.length,
    p99: quantile(
      results.map((r) => r.ms),
      0.99,
    ),
    p99ok: quantile(
      ok.map((r) => r.ms),
      0.99,
    ),
    okPerS: ok.length / answeredIn,
    probeP99: quantile(probes, 0.99),
    probeMax: Math.max(...probes),
    probesOver1s: probes.filter((ms) => ms > 1000).length,
    probes: probes.length,
  };
}

async function pendingNotifications(orderUrl) {
  const text = await fetch(`${orderUrl}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) =>
    r.text(),
  );
  const match = text.match(/^outbox_pending_messages\{kind="notify"\} (\d+)/m);
  return match ? Number(match[1]) : Number.NaN;
}

const fmt = (ms) => (Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : 'no answer');

/** The load generator: one worker thread for every run, so its JIT stays warm between runs. */
let generator;
if (isMainThread) {
  generator = new Worker(new URL(import.meta.url));
  await main();
  await generator.terminate();
} else {
  parentPort.on('message', async ({ orderUrl, rate, seconds }) => {
    parentPort.postMessage(await placeOrders(orderUrl, rate, seconds));
  });
}

async function main() {
  // Interrupted (Ctrl-C, a CI timeout), it still takes its services with it.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  }
  try {
    const inventory = await start('inventory-service', {});
    const notification = await start('notification-service', {});
    const { url: orderUrl } = await start('order-service', {
      INVENTORY_URL: inventory.url,
      NOTIFICATION_URL: notification.url,
      // For the drain measurement: retry soon after notification-service is back, so the figure is
      // the delivery rate, not the backoff or the breaker's open time.
      OUTBOX_MAX_BACKOFF_MS: '500',
      BREAKER_HALF_OPEN_AFTER_MS: '500',
    });
    // Warm-up: JIT, connection pools, SQLite pages.
    await run(orderUrl, 100, 2);

    // Sustained rate: double until p99 >= 100 ms or any error, then bisect between the last good and bad rate.
    const good = (r) => r.p99 < 100 && r.errors === 0 && r.shedShare === 0;
    // BENCH_SUSTAINED skips the search, to compare builds at the same rates.
    const given = Number(process.env.BENCH_SUSTAINED ?? 0);
    let low = given;
    let high = 0;
    for (let rate = 100; given === 0 && rate <= 6400; rate *= 2) {
      const r = await run(orderUrl, rate, STEP_S);
      console.log(
        `  probe ${rate}/s: p99 ${fmt(r.p99)}, ${r.ok} ok, ${r.errors} errors, shed ${(r.shedShare * 100).toFixed(1)}%`,
      );
      if (!good(r)) {
        high = rate;
        break;
      }
      low = rate;
      await sleep(1000);
    }
    for (let i = 0; i < 3 && high > 0 && high - low > 50; i++) {
      const rate = Math.round((low + high) / 2);
      const r = await run(orderUrl, rate, STEP_S);
      console.log(
        `  probe ${rate}/s: p99 ${fmt(r.p99)}, ${r.ok} ok, ${r.errors} errors, shed ${(r.shedShare * 100).toFixed(1)}%`,
      );
      if (good(r)) low = rate;
      else high = rate;
      await sleep(1000);
    }
    const sustained = Math.max(low, 50);
    console.log(`sustained orders/s at p99 < 100 ms: ${sustained}`);

    for (const factor of [2, 4, 8]) {
      await sleep(2000);
      const r = await run(orderUrl, sustained * factor, OVERLOAD_S);
      console.log(
        `${factor}x (${r.rate}/s asked, ${r.sentPerS.toFixed(0)}/s sent, for ${OVERLOAD_S} s): p99 all ${fmt(r.p99)}, p99 accepted ${fmt(r.p99ok)}, ` +
          `accepted ${r.okPerS.toFixed(0)}/s, shed ${(r.shedShare * 100).toFixed(1)}%, other errors ${r.errors}; ` +
          `probes p99 ${fmt(r.probeP99)}, max ${fmt(r.probeMax)}, ${r.probesOver1s} of ${r.probes} over 1 s`,
      );
    }

    // Outbox drain: with notification-service down, orders at the sustained rate for 5 s pile up
    // notifications; once it is back, the rate is the backlog over the time from its first fall to
    // empty (sampled every 250 ms, bounded to 60 s).
    notification.child.kill('SIGKILL');
    await once(notification.child, 'exit');
    await run(orderUrl, sustained, 5);
    await sleep(1000);
    const backlog = await pendingNotifications(orderUrl);
    await start('notification-service', {}, notification);
    const waitStart = performance.now();
    let falling;
    let left = backlog;
    while (left > 0 && performance.now() - waitStart < 60_000) {
      await sleep(250);
      left = await pendingNotifications(orderUrl);
      if (falling === undefined && left < backlog) falling = performance.now() - 250;
    }
    const seconds = (performance.now() - (falling ?? waitStart)) / 1000;
    console.log(
      `outbox drain: ${backlog} pending -> ${left} in ${seconds.toFixed(1)} s = ${((backlog - left) / seconds).toFixed(0)} notifications/s` +
        ` (order rate ${sustained}/s)`,
    );
  } finally {
    await cleanUp();
  }
}

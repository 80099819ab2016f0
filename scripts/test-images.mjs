// `npm run test:images`: builds the four images (ci/build-images.sh) and runs each the way the chart
// runs it: read-only root filesystem, uid 1000, every capability dropped, no-new-privileges, a tmpfs
// at /tmp. Proves that each image holds exactly its workspace's production closure (in which a
// service's bundle finds pg), that the three services answer their probes, take an order end to end
// (order -> inventory, notification, on embedded SQLite) and drain on SIGTERM with exit code 0, that
// no service image holds a file of chaosctl's fault code, and that chaosctl's `--help` and
// `run-all --dry-run` work. Prints image sizes, build and smoke times.
// Exits 1 with one line on the first failure; removes its containers whatever happens. Host
// networking, 127.0.0.1 only.
//   CONTAINER_ENGINE   docker or podman (default: docker when its daemon answers, else podman)
//   IMAGE_TAG          tag of the images it builds (default: test)
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const tag = process.env.IMAGE_TAG || 'test';
const SERVICES = ['inventory-service', 'notification-service', 'order-service'];
const BUILD_TIMEOUT_MS = 30 * 60_000;
const COMMAND_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const DELIVERY_TIMEOUT_MS = 20_000;
// Shorter than the chart's 5 s, long enough to see readiness turn 503 before the server closes.
const SHUTDOWN_DELAY_MS = 2000;
const EXIT_TIMEOUT_MS = 30_000;
class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message);
};

function detectEngine() {
  if (process.env.CONTAINER_ENGINE) return process.env.CONTAINER_ENGINE;
  const works = (cmd) => spawnSync(cmd, ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  if (works('docker')) return 'docker';
  if (works('podman')) return 'podman';
  console.error('test:images: neither a docker daemon nor podman is available');
  process.exit(1);
}
const engine = detectEngine();
const image = (name) => `chaos-platform/${name}:${tag}`;
// The chart's pod and container securityContext, and its emptyDir at /tmp.
// podman's --read-only also mounts tmpfs on /run and /var/tmp unless told not to; Kubernetes does not.
const hardened = [
  '--read-only',
  ...(engine === 'podman' ? ['--read-only-tmpfs=false'] : []),
  '--user=1000:1000',
  '--cap-drop=ALL',
  '--security-opt=no-new-privileges',
  '--tmpfs=/tmp:rw,mode=1777,size=64m',
];

async function run(args, { timeout = COMMAND_TIMEOUT_MS, allowFailure = false } = {}) {
  try {
    const { stdout } = await promisify(execFile)(engine, args, { timeout, maxBuffer: 16 << 20 });
    return stdout.trim();
  } catch (error) {
    if (allowFailure) return undefined;
    const lines = (error.stderr || error.stdout || error.message).trim().split('\n');
    const detail = lines.find((line) => /error/i.test(line)) ?? lines.at(-1);
    const command = args.map((arg) => (arg.length > 40 ? `${arg.slice(0, 37)}...` : arg)).join(' ');
    return fail(`${engine} ${command} failed: ${detail?.trim()}`);
  }
}

const containers = [];
function removeContainers() {
  for (const name of containers.splice(0)) {
    spawnSync(engine, ['rm', '--force', name], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    removeContainers();
    process.exit(1);
  });
}

// Ports the kernel hands out, all held until each is known, so the three differ.
async function freePorts(count) {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(servers.map((server) => new Promise((done) => server.listen(0, '127.0.0.1', done))));
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

async function get(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: await res.text() };
}

async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    // A connection refused is a "not yet"; a Failure (the container died) ends the wait.
    const result = await check().catch((error) => {
      if (error instanceof Failure) throw error;
    });
    if (result !== undefined) return result;
    await sleep(Math.min(50 * 2 ** attempt, 500));
  }
  return fail(`${what} within ${timeoutMs / 1000} s`);
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const timings = [];
async function timed(label, step) {
  const started = performance.now();
  const result = await step();
  timings.push([label, performance.now() - started]);
  return result;
}

// ci/build-images.sh's output goes to a log, kept when it fails; its one-line summaries are shown
// as they come.
async function build() {
  const logDir = mkdtempSync(join(tmpdir(), 'chaos-images-'));
  const log = join(logDir, 'build.log');
  const out = createWriteStream(log);
  const child = spawn('ci/build-images.sh', [tag], {
    cwd: root,
    env: { ...process.env, CONTAINER_ENGINE: engine },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: BUILD_TIMEOUT_MS,
  });
  const buildTimes = new Map();
  child.stderr.pipe(out, { end: false });
  for await (const line of createInterface({ input: child.stdout })) {
    out.write(`${line}\n`);
    const built = /^build-images: chaos-platform\/([\w-]+):\S+ built in (\d+) s$/.exec(line);
    if (built) {
      buildTimes.set(built[1], Number(built[2]));
      console.log(`built ${built[1].padEnd(21)} ${built[2]} s`);
    }
  }
  const [code, signal] = await new Promise((done) => child.on('close', (...args) => done(args)));
  out.end();
  if (code !== 0) {
    console.error(readFileSync(log, 'utf8').split('\n').slice(-40).join('\n'));
    const how = signal
      ? `was stopped by ${signal} (limit ${BUILD_TIMEOUT_MS / 60_000} min)`
      : `exited with ${code}`;
    fail(`ci/build-images.sh ${how}; whole log: ${log}`);
  }
  rmSync(logDir, { recursive: true });
  return buildTimes;
}

// Runs inside an image, as the image's own user: its uid, the packages under /app (in the root
// node_modules and in each workspace's own, nested ones included) and the links that lead nowhere.
const LIST_APP = `
const { existsSync, readdirSync, lstatSync } = require('node:fs');
const isDir = (path) => lstatSync(path).isDirectory();
const found = [], dangling = [];
const walk = (rel) => {
  for (const entry of readdirSync('/app/' + rel)) {
    const path = rel + '/' + entry;
    if (entry === '.bin') continue;
    if (entry.startsWith('@') && isDir('/app/' + path)) { for (const name of readdirSync('/app/' + path)) visit(path + '/' + name); continue; }
    visit(path);
  }
};
const visit = (path) => {
  found.push(path);
  if (lstatSync('/app/' + path).isSymbolicLink()) { if (!existsSync('/app/' + path)) dangling.push(path); return; }
  if (existsSync('/app/' + path + '/node_modules')) walk(path + '/node_modules');
};
walk('node_modules');
for (const dir of readdirSync('/app').filter((d) => d !== 'node_modules' && isDir('/app/' + d))) {
  for (const ws of [dir, ...readdirSync('/app/' + dir).map((d) => dir + '/' + d)]) {
    if (existsSync('/app/' + ws + '/node_modules')) walk(ws + '/node_modules');
  }
}
console.log(JSON.stringify({ uid: process.getuid(), found: found.sort(), dangling }));
`;

// What npm says the workspace needs in production, from the host's install of the same lockfile.
async function expectedClosure(workspace) {
  const { stdout } = await promisify(execFile)(
    'npm',
    ['ls', '--all', '--parseable', '--omit=dev', '--workspace', `@chaos-platform/${workspace}`],
    { cwd: root, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 << 20 },
  ).catch(() => fail(`npm ls --omit=dev -w ${workspace} failed here: run npm ci first`));
  return [
    ...new Set(
      stdout
        .split('\n')
        .filter((line) => line.startsWith(`${root}/`))
        .map((line) => line.slice(root.length + 1)),
    ),
  ].sort();
}

/** Runs a Node.js script in an image, offline, and resolves with what it printed. */
const runNode = (name, script, ...args) =>
  run(['run', '--rm', '--network=none', '--entrypoint=node', image(name), '-e', script, ...args]);

async function checkClosure(name) {
  const listing = await runNode(name, LIST_APP);
  const { uid, found, dangling } = JSON.parse(listing);
  if (uid !== 1000) fail(`${image(name)} runs as uid ${uid}, not 1000`);
  if (dangling.length) fail(`${image(name)} has dangling links: ${dangling.join(', ')}`);
  const expected = await expectedClosure(name);
  const extra = found.filter((path) => !expected.includes(path));
  const missing = expected.filter((path) => !found.includes(path));
  if (extra.length || missing.length) {
    fail(
      `${image(name)} is not ${name}'s production closure: ` +
        `extra [${extra.slice(0, 10).join(', ')}], missing [${missing.slice(0, 10).join(', ')}]`,
    );
  }
  return found.length;
}

// The tool under test never lives inside the system under test: no file of a service image names a
// chaosctl fault (the registry's names, as the string literals fault code carries even minified)
// or holds the local platform's delaying relay (the bundles keep class names).
const { FAULTS } = await import(join(root, 'cli/dist/faults/registry.js'));
const FAULT_MARKER = new RegExp(
  [...FAULTS.map((f) => `["'\`]${f.name}["'\`]`), '\\bDelayRelay\\b'].join('|'),
);
const GREP_APP = `
const { readdirSync, readFileSync, lstatSync } = require('node:fs');
const marker = new RegExp(process.argv[1]), hits = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir)) {
    const path = dir + '/' + entry, stat = lstatSync(path);
    if (stat.isDirectory()) walk(path);
    else if (stat.isFile() && stat.size < 8 << 20 && marker.test(readFileSync(path, 'latin1'))) hits.push(path);
  }
};
walk('/app');
console.log(JSON.stringify(hits));
`;

async function checkNoFaultCode(name) {
  const hits = JSON.parse(await runNode(name, GREP_APP, FAULT_MARKER.source));
  if (hits.length) fail(`${image(name)} holds chaosctl fault code: ${hits.slice(0, 5).join(', ')}`);
}

// A service image runs its bundle, which leaves pg out: on PostgreSQL (the chart's DATABASE_URL) the
// bundle requires pg from the closure. The smoke run below is on SQLite and never loads it.
async function checkBundlePg(name) {
  const imported = await run(
    [
      'run',
      '--rm',
      '--network=none',
      '--entrypoint=node',
      `--workdir=/app/apps/${name}/bundle`,
      image(name),
      '--input-type=module',
      '-e',
      "await import('pg')",
    ],
    { allowFailure: true },
  );
  if (imported === undefined) fail(`${image(name)}: its bundle cannot import pg`);
}

async function startService(name, ports) {
  const container = `chaos-images-${process.pid}-${name}`;
  const env = {
    HOST: '127.0.0.1',
    PORT: ports[name],
    // The probe listener on any free port: PORT + 1000 may be taken on the host network.
    PROBE_PORT: '0',
    LOG_LEVEL: 'warn',
    SHUTDOWN_DELAY_MS,
    INVENTORY_URL: `http://127.0.0.1:${ports['inventory-service']}`,
    NOTIFICATION_URL: `http://127.0.0.1:${ports['notification-service']}`,
  };
  containers.push(container);
  await run([
    'run',
    '--detach',
    `--name=${container}`,
    '--network=host',
    ...hardened,
    ...Object.entries(env).map(([key, value]) => `--env=${key}=${value}`),
    image(name),
  ]);
  const base = `http://127.0.0.1:${ports[name]}`;
  try {
    await waitFor(`${name} ready`, READY_TIMEOUT_MS, async () => {
      if ((await get(`${base}/readyz`).catch(() => undefined))?.status === 200) return true;
      const running = await run(['inspect', '--format={{.State.Running}}', container]);
      if (running !== 'true') fail(`${name} exited before it was ready`);
    });
  } catch (error) {
    const logs = await run(['logs', '--tail=20', container], { allowFailure: true });
    fail(`${error.message}; its last log lines:\n${logs ?? '(none)'}`);
  }
  for (const probe of ['/healthz', '/readyz']) {
    const { status } = await get(`${base}${probe}`);
    if (status !== 200) fail(`${name} ${probe} answered ${status}`);
  }
  return container;
}

async function placeOrder(ports) {
  const res = await fetch(`http://127.0.0.1:${ports['order-service']}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ product_id: 'PROD-001', quantity: 2, email: 'images@example.com' }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  if (res.status !== 201) fail(`POST /orders answered ${res.status}: ${body.slice(0, 300)}`);
  const order = JSON.parse(body);
  const url = `http://127.0.0.1:${ports['notification-service']}/notifications/${order.id}`;
  const notification = await waitFor(
    `the notification of order ${order.id} delivered`,
    DELIVERY_TIMEOUT_MS,
    async () => {
      const { status, body } = await get(url);
      const parsed = status === 200 ? JSON.parse(body) : undefined;
      return parsed?.status === 'sent' ? parsed : undefined;
    },
  );
  if (notification.order_id !== order.id || notification.email !== 'images@example.com') {
    fail(`notification-service holds the wrong notification: ${JSON.stringify(notification)}`);
  }
}

// SIGTERM to PID 1 (node itself): readiness turns 503 while the server still answers, then the
// process exits 0.
async function drain(name, container, port) {
  await run(['kill', '--signal=TERM', container]);
  await waitFor(`${name} /readyz 503 after SIGTERM`, SHUTDOWN_DELAY_MS + 5000, async () =>
    (await get(`http://127.0.0.1:${port}/readyz`)).status === 503 ? true : undefined,
  );
  const code = await run(['wait', container], { timeout: EXIT_TIMEOUT_MS });
  if (code !== '0') {
    const logs = await run(['logs', '--tail=20', container], { allowFailure: true });
    fail(`${name} exited with ${code} after SIGTERM:\n${logs}`);
  }
}

// The image's chaosctl must plan what the one built here plans (npm run test:images builds first).
async function checkChaosctl() {
  const chaosctl = (...args) =>
    run(['run', '--rm', '--network=none', ...hardened, image('chaosctl'), ...args]);
  const help = await chaosctl('--help');
  if (!help.startsWith('Usage: chaosctl')) fail(`chaosctl --help printed: ${help.slice(0, 200)}`);
  const args = [
    'run-all',
    '--driver=kubernetes',
    '--namespace=default',
    '--report-dir=/tmp/reports',
    '--json',
    '--dry-run',
  ];
  const inImage = await chaosctl(...args);
  const { stdout: here } = await promisify(execFile)(process.execPath, ['cli/bundle/cli.js', ...args], {
    cwd: root,
    timeout: COMMAND_TIMEOUT_MS,
  });
  const plan = JSON.parse(inImage);
  if (!plan.dryRun || !plan.plan?.length || inImage !== here.trim()) {
    fail(
      `chaosctl run-all --dry-run in the image planned ${inImage.slice(0, 300)}, here ${here.slice(0, 300)}`,
    );
  }
}

const began = performance.now();
try {
  console.log(`test:images with ${engine}, tag ${tag}`);
  const buildTimes = await timed('build (ci/build-images.sh)', build);
  const smokeStarted = performance.now();
  const packages = {};
  await timed('closure checks', async () => {
    for (const name of [...SERVICES, 'chaosctl']) packages[name] = await checkClosure(name);
    for (const name of SERVICES) await checkBundlePg(name);
    for (const name of SERVICES) await checkNoFaultCode(name);
  });
  const ports = Object.fromEntries((await freePorts(SERVICES.length)).map((port, i) => [SERVICES[i], port]));
  const started = await timed('services ready, probes 200', async () => {
    const names = {};
    for (const name of SERVICES) names[name] = await startService(name, ports);
    return names;
  });
  await timed('order 201, notification delivered', () => placeOrder(ports));
  await timed('SIGTERM drain, exit 0', async () => {
    for (const name of [...SERVICES].reverse()) await drain(name, started[name], ports[name]);
  });
  await timed('chaosctl --help, run-all --dry-run', checkChaosctl);
  const smokeMs = performance.now() - smokeStarted;

  console.log(`\n${'image'.padEnd(42)}    size  packages  build`);
  for (const name of [...SERVICES, 'chaosctl']) {
    const size = Number(await run(['image', 'inspect', '--format={{.Size}}', image(name)]));
    console.log(
      `${image(name).padEnd(42)} ${`${(size / 1e6).toFixed(0)} MB`.padStart(7)}  ${String(packages[name]).padStart(8)}  ${buildTimes.get(name)} s`,
    );
  }
  console.log('');
  for (const [label, ms] of timings) console.log(`${label.padEnd(36)} ${seconds(ms)}`);
  console.log(`${'smoke run (all checks)'.padEnd(36)} ${seconds(smokeMs)}`);
  console.log(`${'test:images total'.padEnd(36)} ${seconds(performance.now() - began)}`);
  console.log('test:images: every image built, holds its closure only, and ran as the chart runs it');
} catch (error) {
  // Failures say what failed; anything else (a refused connection, a bad answer) says its cause.
  const cause = error.cause?.message ? ` (${error.cause.message})` : '';
  console.error(`test:images: ${error.message}${cause}`);
  process.exitCode = 1;
} finally {
  removeContainers();
}

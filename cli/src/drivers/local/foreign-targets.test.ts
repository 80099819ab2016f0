// The supervisor running servers that are none of ours (Debian's lighttpd with WebDAV, Python's
// http.server) as local targets: replicas behind one front port through the TCP proxy, killed and
// restarted, delayed, and stopped with the supervisor.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client, request } from 'undici';
import { alive, allReady, fetchStatus, stopLeftovers } from './platform.js';
import { type PlatformStatus, substitute } from './supervisor.js';
import { LIGHTTPD_CONF, requireLighttpd } from './test-support/lighttpd.js';
import { startSupervisor, stopStarted, tempDir } from './test-support/supervisor.js';

afterAll(stopStarted);

/** Two lighttpd replicas sharing one WebDAV directory, as target `webdav`. */
async function startLighttpd() {
  requireLighttpd();
  const dir = tempDir();
  const conf = join(dir, 'lighttpd.conf');
  writeFileSync(conf, LIGHTTPD_CONF);
  const platform = await startSupervisor({
    webdav: {
      command: ['lighttpd', '-D', '-f', conf],
      cwd: dir,
      env: { DATA_DIR: '{dataDir}' },
      portEnv: 'PORT',
      replicas: 2,
    },
  });
  const ready = await platform.waitFor(allReady, 30_000);
  return { ...platform, ready, front: `http://127.0.0.1:${platform.ports.webdav}` };
}

/** One request on a connection of its own (the front balances connections, not requests). */
async function once(url: string, path: string, init: { method?: 'GET' | 'PUT'; body?: string } = {}) {
  const res = await request(`${url}${path}`, {
    method: init.method ?? 'GET',
    body: init.body,
    reset: true,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.statusCode, replica: String(res.headers['x-replica']), body: await res.body.text() };
}

const replicasOf = (status: PlatformStatus, name: string) => status.services[name]?.replicas ?? [];

describe('a foreign HTTP server as a local target', () => {
  it('lighttpd: a PUT through the front port is read back from either replica, and a killed replica comes back', async () => {
    const { controlUrl, front, ready, waitFor, child } = await startLighttpd();
    expect(replicasOf(ready, 'webdav').map((r) => r.id)).toEqual(['webdav-0', 'webdav-1']);

    const put = await once(front, '/note.txt', { method: 'PUT', body: 'written through the front' });
    expect(put.status).toBe(201);
    // Round robin per connection: four connections reach both replicas, each reading the shared file.
    const reads = await Promise.all([1, 2, 3, 4].map(() => once(front, '/note.txt')));
    expect(reads.map((r) => r.body)).toEqual(Array(4).fill('written through the front'));
    expect(new Set(reads.map((r) => r.replica))).toEqual(new Set(['webdav-0', 'webdav-1']));

    const victim = replicasOf(ready, 'webdav')[0];
    const killed = await request(`${controlUrl}/kill/webdav/webdav-0`, { method: 'POST' });
    expect(killed.statusCode).toBe(200);
    await killed.body.dump();
    // The other replica serves meanwhile: none of these reaches the dying one.
    const during = await Promise.all([1, 2, 3, 4].map(() => once(front, '/note.txt')));
    expect(during.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const back = await waitFor((status) => {
      const replica = replicasOf(status, 'webdav')[0];
      return replica?.ready === true && replica.restarts === 1;
    }, 15_000);
    const replacement = replicasOf(back, 'webdav')[0];
    expect(replacement?.pid).not.toBe(victim?.pid);
    expect(alive(victim?.pid ?? 0)).toBe(false);
    const after = await Promise.all([1, 2, 3, 4].map(() => once(front, '/note.txt')));
    expect(after.map((r) => r.body)).toEqual(Array(4).fill('written through the front'));
    expect(new Set(after.map((r) => r.replica))).toEqual(new Set(['webdav-0', 'webdav-1']));

    // Stopped with its supervisor: lighttpd has no guard of its own, the supervisor kills it.
    const pids = replicasOf(back, 'webdav').map((r) => r.pid ?? 0);
    child.kill('SIGTERM');
    for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(100);
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);

  it('lighttpd: a delay holds for a keep-alive caller the proxy carried before it', async () => {
    const { controlUrl, front, child } = await startLighttpd();
    const caller = new Client(front);
    const ask = async () => {
      const start = performance.now();
      const res = await caller.request({ path: '/', method: 'GET' });
      await res.body.dump();
      return { status: res.statusCode, ms: performance.now() - start };
    };
    expect((await ask()).status).toBe(200);
    const delay = await request(`${controlUrl}/latency/webdav`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 300, jitterMs: 0, durationMs: 20_000 }),
    });
    expect(delay.statusCode).toBe(200);
    await delay.body.dump();
    // The proxy let go of the caller's connection: it reconnected through the delaying relay.
    const delayed = await ask();
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(290);
    const removed = await request(`${controlUrl}/latency/webdav`, { method: 'DELETE' });
    await removed.body.dump();
    expect((await ask()).ms).toBeLessThan(250);
    await caller.close();
    child.kill('SIGTERM');
  }, 60_000);

  it('lighttpd: what a SIGKILLed supervisor leaves running is stopped by its pid file', async () => {
    const { child, ready, stateDir } = await startLighttpd();
    const pids = replicasOf(ready, 'webdav').map((r) => r.pid ?? 0);
    const recorded = JSON.parse(readFileSync(join(stateDir, 'pids.json'), 'utf8')) as {
      replicas: Array<{ target: string; pid: number; argv: string[] }>;
    };
    expect(recorded.replicas.map((r) => r.target)).toEqual(['webdav', 'webdav']);
    expect(recorded.replicas[0]?.argv.slice(0, 2)).toEqual(['lighttpd', '-D']);
    child.kill('SIGKILL');
    await new Promise((done) => child.once('exit', done));
    expect(pids.every(alive)).toBe(true);
    expect((await stopLeftovers(stateDir)).sort()).toEqual([...pids].sort());
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);

  it("python3's http.server: {port} in its argv, two replicas behind the front port, restarted when killed", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'hello.txt'), 'hello from a file');
    const { controlUrl, ports, waitFor } = await startSupervisor({
      files: { command: ['python3', '-m', 'http.server', '{port}', '--bind', '127.0.0.1'], cwd: dir },
    });
    const ready = await waitFor(allReady, 30_000);
    const replicas = replicasOf(ready, 'files');
    expect(replicas).toHaveLength(2);
    const front = `http://127.0.0.1:${ports.files}`;
    for (let i = 0; i < 4; i++)
      expect(await once(front, '/hello.txt')).toMatchObject({ status: 200, body: 'hello from a file' });
    for (const replica of replicas) {
      const killed = await request(`${controlUrl}/kill/files/${replica.id}`, { method: 'POST' });
      expect(killed.statusCode).toBe(200);
      await killed.body.dump();
    }
    const back = await waitFor(
      (status) => allReady(status) && replicasOf(status, 'files').every((r) => r.restarts === 1),
      30_000,
    );
    expect(replicasOf(back, 'files').every((r) => !replicas.some((old) => old.pid === r.pid))).toBe(true);
    expect(await once(front, '/hello.txt')).toMatchObject({ status: 200, body: 'hello from a file' });
  }, 60_000);

  it('keeps a replica whose readiness path fails out of rotation, says why, and answers callers 503', async () => {
    const { ports, waitFor } = await startSupervisor({
      files: {
        command: ['python3', '-m', 'http.server', '{port}', '--bind', '127.0.0.1'],
        cwd: tempDir(),
        replicas: 1,
        readiness: '/missing',
      },
    });
    const status = await waitFor(
      (s) => replicasOf(s, 'files')[0]?.probeError === 'GET /missing answered 404',
      30_000,
    );
    expect(replicasOf(status, 'files')[0]?.ready).toBe(false);
    const unavailable = await once(`http://127.0.0.1:${ports.files}`, '/');
    expect(unavailable.status).toBe(503);
    expect(JSON.parse(unavailable.body).detail).toBe('no ready files replica');
  }, 60_000);

  it('tells which target a control route or {url:} names, and lists every target for discovery', async () => {
    const dir = tempDir();
    const { controlUrl, ports, waitFor } = await startSupervisor({
      a: {
        command: ['python3', '-m', 'http.server', '{port}', '--bind', '127.0.0.1'],
        cwd: dir,
        replicas: 1,
      },
      b: {
        command: ['python3', '-m', 'http.server', '{port}', '--bind', '127.0.0.1'],
        cwd: dir,
        replicas: 1,
        env: { UPSTREAM: '{url:a}' },
      },
    });
    await waitFor(allReady, 30_000);
    const sd = await request(`${controlUrl}/sd`);
    const groups = (await sd.body.json()) as Array<{ targets: string[]; labels: { job: string } }>;
    expect(groups.map((g) => g.labels.job)).toEqual(['a', 'b']);
    expect(groups.every((g) => g.targets.length === 1)).toBe(true);
    const unknown = await request(`${controlUrl}/kill/c/c-0`, { method: 'POST' });
    expect(unknown.statusCode).toBe(404);
    await unknown.body.dump();
    // b's replica got a's front URL in its environment.
    const pid = replicasOf(await fetchStatus(controlUrl), 'b')[0]?.pid;
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`UPSTREAM=http://127.0.0.1:${ports.a}`);
    expect(environ).toContain('POD_NAME=b-0');
  }, 60_000);
});

describe('substitute', () => {
  const values = {
    port: 4100,
    replica: 'web-1',
    dataDir: '/data/web',
    urls: new Map([['db', 'http://127.0.0.1:4200']]),
  };
  it('fills in the placeholders and leaves other braces to the command', () => {
    expect(substitute('--listen=127.0.0.1:{port} --name {replica} {dataDir}/x {url:db}/q', values)).toBe(
      '--listen=127.0.0.1:4100 --name web-1 /data/web/x http://127.0.0.1:4200/q',
    );
    expect(substitute('sh -c "f() { echo {x}; }"', values)).toBe('sh -c "f() { echo {x}; }"');
  });
  it('refuses a {url:} that names no target', () => {
    expect(() => substitute('{url:cache}', values)).toThrow(
      '{url:cache} names no target (the targets are db)',
    );
  });
});

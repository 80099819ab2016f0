// The supervisor with the demo platform's real services, as `chaosctl local up` runs it (cli/bundle's
// supervisor-main.js, so run after `npm run build`), on 127.0.0.1.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Client } from 'undici';
import { builtIn } from '../../suite/load.js';
import { LoadGenerator } from '../../traffic/load.js';
import { demoPlatform } from './demo-platform.js';
import { alive, allReady, fetchStatus, stopLeftovers, watchStatus } from './platform.js';
import { cpuOf, type PlatformStatus } from './supervisor.js';
import { startSupervisor, stopStarted, tempDir } from './test-support/supervisor.js';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const started: ReturnType<typeof spawn>[] = [];

afterAll(async () => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await stopStarted();
});

/** The demo platform with `replicas` each and extra environment for every service. */
const startPlatform = (replicas: number, env: Record<string, string> = {}) =>
  startSupervisor(
    Object.fromEntries(
      Object.entries(demoPlatform({ env })).map(([name, run]) => [name, { ...run, replicas }]),
    ),
  );

const every = (status: PlatformStatus) => Object.values(status.services).flatMap((s) => s.replicas);
const replicaPids = (status: PlatformStatus) => every(status).map((r) => r.pid ?? 0);
const replicasOf = (status: PlatformStatus, name: string) => status.services[name]?.replicas ?? [];

/** One request on a connection of its own (a caller's new connection is what the front balances). */
async function once(url: string, path: string, init: { method?: 'GET' | 'POST'; body?: unknown } = {}) {
  const client = new Client(url);
  try {
    const res = await client.request({
      path,
      method: init.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: (await res.body.json()) as Record<string, unknown>,
    };
  } finally {
    await client.close();
  }
}

const ORDER = { product_id: 'PROD-001', quantity: 1, email: 'test@example.com' };

describe('the local platform', () => {
  it('balances connections over ready replicas, recovers a killed one with nothing lost to a retrying client, and reports it by event', async () => {
    const { controlUrl, ports, waitFor } = await startPlatform(2);
    const ready = await waitFor(allReady, 30_000);
    expect(Object.keys(ready.services)).toEqual([
      'order-service',
      'inventory-service',
      'notification-service',
    ]);
    for (const replica of every(ready)) {
      // A started Node.js process has used CPU; the wait figure is there to compare over time.
      expect(replica.cpuMs).toBeGreaterThan(0);
      expect(replica.runQueueWaitMs).toBeGreaterThanOrEqual(0);
    }

    // A long-poll with nothing changing answers at its timeout, with the same version.
    const before = Date.now();
    const unchanged = await fetchStatus(controlUrl, { after: ready.version, waitMs: 300 });
    expect(Date.now() - before).toBeGreaterThanOrEqual(250);
    expect(unchanged.version).toBe(ready.version);

    // Connections go round robin over the ready replicas, each answer saying who served it.
    const servedBy = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await once(`http://127.0.0.1:${ports['order-service']}`, '/orders', {
        method: 'POST',
        body: ORDER,
      });
      expect(res.status).toBe(201);
      servedBy.add(String(res.headers['x-served-by']));
    }
    expect([...servedBy].sort()).toEqual(['order-service-0', 'order-service-1']);

    // Kill a replica under traffic: the watcher sees it leave rotation and its replacement arrive.
    // The requests the killed process held are cut off, as a SIGKILLed pod's are behind a Service;
    // the client retries them with their Idempotency-Key.
    const load = new LoadGenerator({
      requests: builtIn().traffic?.requests ?? [],
      urlOf: { 'order-service': `http://127.0.0.1:${ports['order-service']}` },
      rps: 100,
      retry: { retries: 2, backoffMs: 20 },
    });
    load.start();
    await sleep(500);
    const victim = replicasOf(ready, 'order-service')[0];
    const seen: Array<{ ready: boolean; pid: number | null }> = [];
    let watching: () => void = () => {};
    const firstStatus = new Promise<void>((resolve) => (watching = resolve));
    const watched = watchStatus(
      controlUrl,
      (status) => {
        watching();
        const replica = replicasOf(status, 'order-service')[0];
        if (replica) seen.push({ ready: replica.ready, pid: replica.pid });
        return replica?.ready === true && replica.pid !== victim?.pid;
      },
      { signal: AbortSignal.timeout(20_000) },
    );
    await firstStatus;
    const killed = await fetch(`${controlUrl}/kill/order-service/${victim?.id}`, { method: 'POST' });
    expect(killed.status).toBe(200);
    await watched;
    await sleep(300);
    const samples = await load.stop();
    expect(seen.some((s) => !s.ready)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ ready: true });
    expect(seen.at(-1)?.pid).not.toBe(victim?.pid);
    const after = await fetchStatus(controlUrl);
    expect(replicasOf(after, 'order-service')[0]?.restarts).toBe(1);
    // Its start, step by step, in order: what the platform benchmark breaks a recovery down with.
    // (The replica's own clock reads its start: allowed 2 ms before the supervisor's reading.)
    const startup = replicasOf(after, 'order-service')[0]?.startup;
    const steps = [
      startup?.killedAt,
      startup?.spawnedAt,
      (startup?.processAt ?? Number.NaN) + 2,
      startup?.nodeReadyAt,
      startup?.listeningAt,
      startup?.readyAt,
      // Its first caller, if one has come yet (callers keep their connections to the other).
      ...(startup?.firstConnectionAt ? [startup.firstConnectionAt] : []),
    ];
    expect(steps.every((at) => Number.isFinite(at))).toBe(true);
    expect(steps).toEqual([...(steps as number[])].sort((a, b) => a - b));
    expect(startup?.predecessorExitAt).toBeGreaterThanOrEqual(startup?.killedAt ?? Number.NaN);
    expect(samples.length).toBeGreaterThan(50);
    // Nothing lost to the kill: every order answered by a replica. (On a machine loaded by others a
    // replica may shed load with its own 503; that is the service's admission control, not a
    // request the platform dropped, which would be no answer or a 503 from the supervisor.)
    expect(samples.filter((s) => s.status !== 201 && !(s.status === 503 && s.servedBy))).toEqual([]);
    // A retried order is the same order: its Idempotency-Key replays (or finishes) the first try.
    const retried = samples.flatMap((s) =>
      s.attempts > 1 && s.readBack && 'path' in s.readBack ? [s.readBack] : [],
    );
    for (const readBack of retried.slice(0, 5)) {
      const again = await once(`http://127.0.0.1:${ports['order-service']}`, readBack.path);
      expect(again.status).toBe(200);
    }

    // Latency faults keep their API, and their expiry is an event too.
    const added = await fetch(`${controlUrl}/latency/inventory-service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 50, jitterMs: 0, durationMs: 300 }),
    });
    expect(added.status).toBe(200);
    expect((await fetchStatus(controlUrl)).faults).toHaveLength(1);
    await waitFor((status) => status.faults.length === 0, 5000);
    // Six replicas starting on two cores shared with other test files: its own waits bound it.
  }, 90_000);

  it('backs off a replica that keeps dying before it is ready instead of restarting it at once', async () => {
    // An invalid setting makes every replica exit at start-up.
    const { controlUrl, ports } = await startPlatform(1, { LOG_LEVEL: 'not-a-level' });
    const backoffs: number[] = [];
    await watchStatus(
      controlUrl,
      (status) => {
        const backoffMs = replicasOf(status, 'order-service')[0]?.backoffMs ?? 0;
        if (backoffMs > 0 && backoffs.at(-1) !== backoffMs) backoffs.push(backoffMs);
        return backoffMs >= 400;
      },
      { signal: AbortSignal.timeout(30_000) },
    );
    // With no replica ready, a caller gets a 503 problem that says so, not a hang or a reset.
    const unavailable = await once(`http://127.0.0.1:${ports['order-service']}`, '/healthz');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['content-type']).toBe('application/problem+json');
    expect(unavailable.body.detail).toBe('no ready order-service replica');
    // Each exit before readiness doubles the wait before the next start (a busy machine may answer
    // a long-poll after a short back-off has already ended, so one may go unseen).
    expect(backoffs.at(-1)).toBe(400);
    expect(backoffs).toEqual([...new Set(backoffs)].sort((a, b) => a - b));
    expect(backoffs.every((ms) => [100, 200, 400].includes(ms))).toBe(true);
  });

  it("stays out of the data path: its CPU per order is a small share of the replicas'", async () => {
    const { child, controlUrl, ports, waitFor } = await startPlatform(2);
    await waitFor(allReady, 30_000);
    const cpu = async () => {
      const status = await fetchStatus(controlUrl);
      const replicas = every(status).map((r) => r.cpuMs ?? 0);
      return {
        supervisor: (await cpuOf(child.pid ?? 0)).cpuMs ?? 0,
        replicas: replicas.reduce((a, b) => a + b, 0),
      };
    };
    const before = await cpu();
    // Eight callers with a keep-alive connection each, 150 orders apiece: every order crosses the
    // front twice (to order-service, then to inventory-service through its Service port).
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const client = new Client(`http://127.0.0.1:${ports['order-service']}`);
        let created = 0;
        for (let i = 0; i < 150; i++) {
          const res = await client.request({
            path: '/orders',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(ORDER),
          });
          await res.body.dump();
          if (res.statusCode === 201) created++;
        }
        await client.close();
        return created;
      }),
    );
    const after = await cpu();
    expect(results.reduce((a, b) => a + b, 0)).toBe(1200);
    // A proxy in the data path spent about a fifth of what the replicas did; handing over, about 1%.
    expect(after.replicas - before.replicas).toBeGreaterThan(0);
    expect(after.supervisor - before.supervisor).toBeLessThan((after.replicas - before.replicas) / 10);
  }, 90_000);

  it('delays the service port only, through its relay, keep-alive callers too, and drops what a caller gave up on', async () => {
    const { controlUrl, ports, waitFor } = await startPlatform(1);
    const ready = await waitFor(allReady, 30_000);
    const service = `http://127.0.0.1:${ports['inventory-service']}`;
    const own = `http://127.0.0.1:${replicasOf(ready, 'inventory-service')[0]?.port}`;
    const available = async () => Number((await once(own, '/inventory/PROD-002')).body.available);
    const stock = await available();
    // A caller's keep-alive connection, handed to the replica before the delay.
    const caller = new Client(service);
    const callerAsks = async () => {
      const start = performance.now();
      const res = await caller.request({ path: '/inventory/PROD-002', method: 'GET' });
      await res.body.dump();
      return { status: res.statusCode, ms: performance.now() - start };
    };
    expect((await callerAsks()).ms).toBeLessThan(250);
    const delay = await fetch(`${controlUrl}/latency/inventory-service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 300, jitterMs: 0, durationMs: 20_000 }),
    });
    expect(delay.status).toBe(200);
    const timed = async (url: string) => {
      const start = performance.now();
      expect((await once(url, '/inventory/PROD-002')).status).toBe(200);
      return performance.now() - start;
    };
    // Through the Service's port the delay holds; on the replica's own port (probes, Prometheus) not.
    expect(await timed(service)).toBeGreaterThanOrEqual(290);
    expect(await timed(own)).toBeLessThan(250);
    // The replica released the caller's connection: the caller reconnected through the relay.
    const again = await callerAsks();
    expect(again.status).toBe(200);
    expect(again.ms).toBeGreaterThanOrEqual(290);

    // Reservations whose callers hang up during the delay never reach the service: stock unchanged.
    const reserve = (orderId: string) =>
      fetch(`${service}/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ order_id: orderId, product_id: 'PROD-002', quantity: 1 }),
        signal: AbortSignal.timeout(100),
      }).then(
        () => 'answered',
        () => 'hung up',
      );
    const outcomes = await Promise.all(Array.from({ length: 5 }, (_, i) => reserve(`gave-up-${i}`)));
    expect(outcomes).toEqual(Array(5).fill('hung up'));
    await sleep(600);
    expect(await available()).toBe(stock);

    // Removed, the delay is gone at once.
    expect((await fetch(`${controlUrl}/latency/inventory-service`, { method: 'DELETE' })).status).toBe(200);
    expect(await timed(service)).toBeLessThan(250);
    expect((await callerAsks()).ms).toBeLessThan(250);
    // A second delay holds for the same caller: the ended relay let its connection go.
    await fetch(`${controlUrl}/latency/inventory-service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 300, jitterMs: 0, durationMs: 20_000 }),
    });
    expect((await callerAsks()).ms).toBeGreaterThanOrEqual(290);
    await fetch(`${controlUrl}/latency/inventory-service`, { method: 'DELETE' });
    await caller.close();
  }, 60_000);

  it('leaves no replica behind when its supervisor is SIGKILLed', async () => {
    const { child, waitFor } = await startPlatform(1);
    const pids = replicaPids(await waitFor(allReady, 30_000));
    expect(pids.every((pid) => pid > 0 && alive(pid))).toBe(true);
    child.kill('SIGKILL');
    for (let i = 0; i < 150 && pids.some(alive); i++) await sleep(100);
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});

describe('stopLeftovers', () => {
  it('stops recorded processes that still run their recorded command line and leaves a reused pid alone', async () => {
    const stateDir = tempDir();
    const replicaArgv = [process.execPath, join(repoRoot, 'apps/inventory-service/dist/main.js')];
    const replica = spawn(replicaArgv[0] as string, replicaArgv.slice(1), {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(stateDir, 'data') },
      stdio: 'ignore',
    });
    // A process that now holds a recorded pid but is not ours.
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    started.push(replica, stranger);
    await sleep(300);
    expect(alive(replica.pid ?? 0) && alive(stranger.pid ?? 0)).toBe(true);
    writeFileSync(
      join(stateDir, 'pids.json'),
      JSON.stringify({
        supervisor: stranger.pid,
        replicas: [
          { target: 'inventory-service', pid: replica.pid, argv: replicaArgv },
          // Recorded as a replica, but its pid now runs another command line.
          { target: 'order-service', pid: stranger.pid, argv: replicaArgv },
        ],
      }),
    );
    expect(await stopLeftovers(stateDir)).toEqual([replica.pid]);
    expect(alive(replica.pid ?? 0)).toBe(false);
    expect(alive(stranger.pid ?? 0)).toBe(true);
  });
});

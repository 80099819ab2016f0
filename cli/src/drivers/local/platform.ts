// `chaosctl local up|status|down`: the supervisor runs detached, so the platform outlives the
// command that started it; a state file says where its control API listens.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnreachableError, UsageError } from '../../errors.js';
import type { ServiceName } from '../driver.js';
import { type PlatformStatus, SERVICES } from './supervisor.js';

const repoRoot = resolve(import.meta.dirname, '../../../..');

export interface LocalState {
  pid: number;
  controlUrl: string;
  dataDir: string;
  startedAt: string;
}

export interface UpOptions {
  stateDir: string;
  replicas: number;
  basePort: number;
  seedStock?: number;
  timeoutMs?: number;
}

const stateFile = (stateDir: string) => join(stateDir, 'local.json');

export function readState(stateDir: string): LocalState | undefined {
  const file = stateFile(stateDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalState) : undefined;
}

/** Whether a process exists (signal 0 checks without signalling). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function fetchStatus(controlUrl: string): Promise<PlatformStatus> {
  const res = await fetch(`${controlUrl}/status`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as PlatformStatus;
}

export const allReady = (status: PlatformStatus) =>
  SERVICES.every((service) => status.services[service].replicas.every((replica) => replica.ready));

/** Starts the platform in the background and resolves once every replica is ready. */
export async function localUp(opts: UpOptions): Promise<LocalState> {
  const existing = readState(opts.stateDir);
  if (existing && alive(existing.pid)) {
    throw new UsageError(
      `a local platform is already running (pid ${existing.pid}); run 'chaosctl local down' first`,
    );
  }
  for (const service of SERVICES) {
    if (!existsSync(join(repoRoot, 'apps', service, 'dist/main.js'))) {
      throw new UsageError(`apps/${service}/dist/main.js is missing; run 'npm run build' first`);
    }
  }
  mkdirSync(opts.stateDir, { recursive: true });
  // Every `up` starts from the seeded catalogue, so runs are comparable.
  const dataDir = join(opts.stateDir, 'data');
  rmSync(dataDir, { recursive: true, force: true });
  const ports = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      opts.basePort +
        ({ 'order-service': 0, 'inventory-service': 1, 'notification-service': 2 } as const)[service],
    ]),
  ) as Record<ServiceName, number>;
  // Fixed beside the services, so a Prometheus config can find the replicas (GET /sd) there.
  const controlPort = opts.basePort + 99;
  const config = {
    repoRoot,
    dataDir,
    replicas: opts.replicas,
    ports,
    controlPort,
    env: {
      LOG_LEVEL: 'warn',
      ...(opts.seedStock === undefined ? {} : { SEED_STOCK: String(opts.seedStock) }),
    },
  };
  const log = openSync(join(opts.stateDir, 'supervisor.log'), 'a');
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'supervisor-main.js'), JSON.stringify(config)],
    {
      detached: true,
      stdio: ['ignore', log, log],
    },
  );
  child.unref();
  const state: LocalState = {
    pid: child.pid ?? 0,
    controlUrl: `http://127.0.0.1:${controlPort}`,
    dataDir,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(stateFile(opts.stateDir), `${JSON.stringify(state, null, 2)}\n`);

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (!alive(state.pid)) {
      const tail = readFileSync(join(opts.stateDir, 'supervisor.log'), 'utf8')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ');
      await localDown(opts.stateDir);
      throw new UnreachableError(`the local platform exited while starting: ${tail}`);
    }
    const status = await fetchStatus(state.controlUrl).catch(() => undefined);
    if (status && allReady(status)) return state;
    await sleep(200);
  }
  await localDown(opts.stateDir);
  throw new UnreachableError('the local platform was not ready within the time limit');
}

/** Stops the platform and everything it started; a no-op when none runs. */
export async function localDown(stateDir: string): Promise<boolean> {
  const state = readState(stateDir);
  if (!state) return false;
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    for (let i = 0; i < 150 && alive(state.pid); i++) await sleep(100);
  }
  // The supervisor leads its own process group (detached) and its replicas are in it: whatever is
  // left, say after the supervisor itself was killed, goes with the group.
  try {
    process.kill(-state.pid, 'SIGKILL');
  } catch {
    // the group is already empty
  }
  rmSync(stateFile(stateDir), { force: true });
  return true;
}

export function requireState(stateDir: string): LocalState {
  const state = readState(stateDir);
  if (!state || !alive(state.pid)) {
    throw new UnreachableError(
      `no local platform is running (state in ${stateDir}); start one with 'chaosctl local up'`,
    );
  }
  return state;
}

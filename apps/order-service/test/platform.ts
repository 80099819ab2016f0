// Test fixture: the services as real processes on loopback, built from apps/*/dist.
// Every process started here is stopped by `stopAll()`; tests call it in afterAll/afterEach.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const repoRoot = resolve(import.meta.dirname, '../../..');

export type ServiceName = 'order-service' | 'inventory-service' | 'notification-service';

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export class ServiceProcess {
  readonly url: string;
  private child: ChildProcess | undefined;
  readonly output: string[] = [];
  exit: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    readonly env: NodeJS.ProcessEnv,
    /** A command the service runs under, e.g. `['prlimit', '--nofile=256']`. */
    readonly prefix: readonly string[] = [],
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts the process and resolves once /readyz answers 200. */
  async start(timeoutMs = 20_000): Promise<this> {
    const [command, ...args] = [
      ...this.prefix,
      process.execPath,
      join(repoRoot, 'apps', this.name, 'dist/main.js'),
    ];
    const child = spawn(command as string, args, {
      env: {
        PATH: process.env.PATH,
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        // The probe listener on any free port: PORT + 1000 may be taken on a busy machine.
        PROBE_PORT: '0',
        ...this.env,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exit = new Promise((done) => child.once('exit', (code) => done(code)));
    await this.waitReady(timeoutMs);
    return this;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited while starting:\n${this.output.join('')}`);
      try {
        if ((await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.join('')}`);
  }

  /** Sends a signal and resolves with the exit code (null when killed by the signal). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.running) this.child?.kill(signal);
    return this.exit;
  }
}

const processes: ServiceProcess[] = [];
const cleanups: Array<() => void> = [];

export async function startService(
  name: ServiceName,
  env: NodeJS.ProcessEnv = {},
  port?: number,
  prefix: readonly string[] = [],
): Promise<ServiceProcess> {
  const service = new ServiceProcess(name, port ?? (await freePort()), env, prefix);
  processes.push(service);
  return service.start();
}

export interface Platform {
  inventory: ServiceProcess;
  notification: ServiceProcess;
  order: ServiceProcess;
}

/** The three services, each with its own SQLite directory, wired to each other. */
export async function startPlatform(
  env: Partial<Record<'inventory' | 'notification' | 'order', NodeJS.ProcessEnv>> = {},
): Promise<Platform> {
  const [inventory, notification] = await Promise.all([
    startService('inventory-service', { DATA_DIR: tempDir('inventory'), ...env.inventory }),
    startService('notification-service', { DATA_DIR: tempDir('notification'), ...env.notification }),
  ]);
  const order = await startService('order-service', {
    DATA_DIR: tempDir('order'),
    INVENTORY_URL: inventory.url,
    NOTIFICATION_URL: notification.url,
    ...env.order,
  });
  return { inventory, notification, order };
}

export async function stopAll(): Promise<void> {
  await Promise.all(processes.splice(0).map((service) => service.stop('SIGKILL')));
  for (const cleanup of cleanups.splice(0)) cleanup();
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function http(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

export const order = (productId = 'PROD-001', quantity = 1, email = 'test@example.com') => ({
  product_id: productId,
  quantity,
  email,
});

/** Polls `check` until it returns a value or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}

// The supervisor as `chaosctl local up` runs it (cli/bundle's supervisor-main.js, so run after
// `npm run build`), on free ports, for the tests beside it; `stopStarted` stops what they started.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalRun } from '../../../suite/local-run.js';
import { fetchStatus, waitForStatus } from '../platform.js';
import { freePort, type PlatformStatus, type SupervisorConfig } from '../supervisor.js';

const repoRoot = resolve(import.meta.dirname, '../../../../..');
const started: ChildProcess[] = [];
const dirs: string[] = [];

/** Stops every supervisor started here (its replicas follow) and removes the temp dirs. */
export async function stopStarted(): Promise<void> {
  const running = started.filter((child) => child.exitCode === null && child.signalCode === null);
  const exits = running.map((child) => new Promise((done) => child.once('exit', done)));
  for (const child of running) child.kill('SIGTERM');
  await Promise.all(exits);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

/** A temp dir removed by stopStarted. */
export const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'supervisor-test-'));
  dirs.push(dir);
  return dir;
};

/** Starts a supervisor running `targets` (in that order), each on a free front port. */
export async function startSupervisor(targets: Record<string, LocalRun & { cwd: string }>) {
  const stateDir = tempDir();
  const ports: Record<string, number> = {};
  for (const name of Object.keys(targets)) ports[name] = await freePort();
  const config: SupervisorConfig = {
    targets: Object.entries(targets).map(([name, run]) => ({ name, port: ports[name] as number, run })),
    dataDir: join(stateDir, 'data'),
    controlPort: await freePort(),
    pidFile: join(stateDir, 'pids.json'),
  };
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'cli/bundle/supervisor-main.js'), JSON.stringify(config)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  started.push(child);
  // What the supervisor and its replicas wrote to stderr (the last 4 kB), to say why a wait failed.
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  const controlUrl = `http://127.0.0.1:${config.controlPort}`;
  // The control API needs a moment to listen.
  for (let i = 0; i < 100 && !(await fetchStatus(controlUrl).catch(() => undefined)); i++) await sleep(50);
  const waitFor = (check: (status: PlatformStatus) => boolean, timeoutMs: number) =>
    waitForStatus(controlUrl, check, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}\nsupervisor stderr:\n${stderr || '(nothing)'}`);
    });
  return { child, controlUrl, ports, stateDir, config, waitFor };
}

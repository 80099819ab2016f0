// `npm start` (scripts/start.mjs): an old Node.js refused before the build, ports of the user's
// choosing, and a platform the user already runs left alone.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freeBasePort, localUp, repoRoot, runChaosctl } from '../cli/test/harness.js';

const work = mkdtempSync(join(tmpdir(), 'npm-start-'));
// Where `npm start` keeps its platform: .chaosctl in the directory it runs in.
const stateDir = join(work, '.chaosctl');

beforeAll(async () => {
  await localUp(stateDir, work);
}, 90_000);

afterAll(async () => {
  await runChaosctl(['local', 'down', '--state-dir', stateDir], { cwd: work });
  rmSync(work, { recursive: true, force: true });
}, 30_000);

/** scripts/start.mjs run as `npm start` runs it, in `cwd`, with `nodeArgs` before it. */
const start = (args: string[], { cwd = work, nodeArgs = [] as string[] } = {}) =>
  promisify(execFile)(process.execPath, [...nodeArgs, join(repoRoot, 'scripts/start.mjs'), ...args], {
    cwd,
    env: { PATH: process.env.PATH, NO_COLOR: '1' },
    timeout: 90_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('npm start', () => {
  it('refuses an old Node.js in one line, before building anything', async () => {
    // What Node 20 reports, set before start.mjs is loaded.
    const node20 =
      'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.20.2"});' +
      'Object.defineProperty(process,"version",{value:"v20.20.2"})';
    const run = await start([], { nodeArgs: ['--import', node20] });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^chaos-platform needs Node.js 22.19.0 or newer .* this is v20.20.2\. .*npm install .*node@24/,
      ),
    ]);
  });

  it('brings the platform up on the ports --base-port gives, and down again', async () => {
    const dir = join(work, 'base-port');
    mkdirSync(dir);
    const base = await freeBasePort();
    const run = await start(['--base-port', String(base), '--dry-run'], { cwd: dir });
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`local platform up (supervisor pid`);
    expect(run.stdout).toContain(`order-service http://127.0.0.1:${base},`);
    expect(run.stdout).toContain('local platform stopped');
  }, 90_000);

  it('refuses in one line while a local platform runs here, and leaves that platform running', async () => {
    const run = await start([]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^chaosctl: a local platform is already running \(pid \d+\)/),
    ]);
    const status = await runChaosctl(['local', 'status', '--json', '--state-dir', stateDir], { cwd: work });
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, ready: true });
  }, 60_000);
});

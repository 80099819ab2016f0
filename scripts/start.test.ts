// `npm start` (scripts/start.mjs) beside a platform the user already runs: it refuses in one line
// and leaves that platform running.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localUp, repoRoot, runChaosctl } from '../cli/test/harness.js';

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

describe('npm start with a local platform already running', () => {
  it('refuses in one line, exits non-zero and leaves that platform running', async () => {
    const run = await promisify(execFile)(process.execPath, [join(repoRoot, 'scripts/start.mjs')], {
      cwd: work,
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^chaosctl: a local platform is already running \(pid \d+\)/),
    ]);
    const status = await runChaosctl(['local', 'status', '--json', '--state-dir', stateDir], { cwd: work });
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, ready: true });
  }, 60_000);
});

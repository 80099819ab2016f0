// `npm run platform` (scripts/platform.mjs) stops with everything it started when npm itself gets
// SIGTERM or SIGINT: npm passes the signal to its one child, and no service is left behind.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { alive } from '../cli/src/drivers/local/platform.js';
import { freeBasePort, repoRoot } from '../cli/test/harness.js';

const work = mkdtempSync(join(tmpdir(), 'npm-platform-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every process under `pid`, from /proc/<pid>/task/<tid>/children (Linux). */
function descendants(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
  return children.flatMap((child) => [child, ...descendants(child)]);
}

describe('npm run platform', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops every service when npm gets %s',
    async (signal) => {
      const base = await freeBasePort();
      const npm = spawn('npm', ['run', 'platform', '--', '--base-port', String(base)], {
        cwd: repoRoot,
        env: { ...process.env, DATA_DIR: join(work, signal) },
      });
      let output = '';
      npm.stdout.on('data', (chunk: Buffer) => (output += chunk));
      npm.stderr.on('data', (chunk: Buffer) => (output += chunk));
      const exited = new Promise((done) => npm.once('exit', done));
      let started: number[] = [];
      try {
        for (let i = 0; i < 600 && !output.includes('Press Ctrl-C'); i++)
          await new Promise((r) => setTimeout(r, 100));
        expect(output).toContain(`order-service         http://127.0.0.1:${base}`);
        started = descendants(npm.pid ?? 0);
        // The node running platform.mjs and its three services, whatever shell sits between.
        expect(started.length).toBeGreaterThanOrEqual(4);
        npm.kill(signal);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        for (let i = 0; i < 150 && started.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
        expect(started.filter(alive)).toEqual([]);
      } finally {
        for (const pid of [npm.pid ?? 0, ...started].filter(alive)) process.kill(pid, 'SIGKILL');
      }
    },
    90_000,
  );
});

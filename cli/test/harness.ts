// Running the built chaosctl as a user would, and finding ports for a local platform: shared by
// the end-to-end tests.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const cli = join(repoRoot, 'cli/bundle/cli.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runChaosctl(
  args: string[],
  { cwd, timeoutMs = 90_000, env = {} }: { cwd: string; timeoutMs?: number; env?: Record<string, string> },
): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      cwd,
      timeout: timeoutMs,
      env: { PATH: process.env.PATH, NO_COLOR: '1', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** A port p with p+1, p+2 and p+99 free too: the local platform's service ports and control API. */
export async function freeBasePort(): Promise<number> {
  const listen = (port: number) =>
    new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
  // Bounded: a free set of four ports is found within a few tries on any sane machine.
  for (let tries = 0; tries < 200; tries++) {
    // Below Linux's ephemeral range (32768+), where the replicas' own ports come from; +99 is the control API.
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    if (
      (await listen(base)) &&
      (await listen(base + 1)) &&
      (await listen(base + 2)) &&
      (await listen(base + 99))
    )
      return base;
  }
  throw new Error('no free base port found');
}

/**
 * `chaosctl local up` with two replicas per service on a free set of ports (see freeBasePort);
 * resolves with the base port and what chaosctl said, rejects when it did not start. Pair it with
 * `chaosctl local down --state-dir <stateDir>`.
 */
export async function localUp(stateDir: string, cwd: string): Promise<Run & { base: number }> {
  const base = await freeBasePort();
  const args = ['local', 'up', '--replicas', '2', '--base-port', String(base), '--state-dir', stateDir];
  const up = await runChaosctl(args, { cwd });
  if (up.code !== 0) throw new Error(`chaosctl local up exited with ${up.code}: ${up.stderr}`);
  return { ...up, base };
}

/**
 * The traffic flags every end-to-end experiment shares: a low rate and short phases. A timed
 * fault's latency is normal again at the first one-second span after removal with its p95 in band:
 * a one-second cooldown has barely one such span, and a single slow request (another test file's
 * burst on two cores) falls in all of them; in two seconds it cannot. The p95 limit is loose: these
 * tests prove the mechanics, not latency on a busy CI machine.
 */
export const testTraffic = (reportDir: string) => [
  '--rps',
  '20',
  '--warmup',
  '1s',
  '--cooldown',
  '2s',
  '--max-p95',
  '10s',
  '--report-dir',
  reportDir,
];

const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
/** The report schema users validate against (docs/schemas). */
export const validateReport = ajv.compile(
  JSON.parse(readFileSync(join(repoRoot, 'docs/schemas/chaosctl-report.schema.json'), 'utf8')),
);

// The chaos stage takes its report from the suite pod's log, where the container runtime merges
// stdout and stderr. Here the real chaosctl runs an experiment against the real local platform
// with both streams into one file, as in that log, and ci/report-from-log.sh must give back the
// report chaosctl wrote.
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localUp } from '../cli/test/harness.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'cli/bundle/cli.js');
const extract = join(root, 'ci/report-from-log.sh');

describe('ci/report-from-log.sh', () => {
  const work = mkdtempSync(join(tmpdir(), 'report-from-log-'));
  const stateDir = join(work, 'state');
  const log = join(work, 'chaos-suite.log');
  let exitCode: number | null = null;

  beforeAll(async () => {
    await localUp(stateDir, work);
    const fd = openSync(log, 'w');
    try {
      const chaosctl = spawn(
        process.execPath,
        [
          cli,
          'pod-kill',
          '--driver',
          'local',
          '--service',
          'notification-service',
          '--rps',
          '10',
          '--warmup',
          '1s',
          '--cooldown',
          '1s',
          '--state-dir',
          stateDir,
          '--report-dir',
          join(work, 'reports'),
          '--json',
          // What is checked is the report's trip through the log, not the thresholds: generous
          // ones keep a run on two busy cores a pass.
          '--sla',
          '60s',
          '--max-error-rate',
          '1',
          '--max-p95',
          '60s',
        ],
        { stdio: ['ignore', fd, fd] },
      );
      exitCode = await new Promise((done) => chaosctl.on('exit', done));
    } finally {
      closeSync(fd);
    }
  }, 90_000);

  afterAll(async () => {
    await run(process.execPath, [cli, 'local', 'down', '--state-dir', stateDir]).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('gives back the report chaosctl wrote, from a log with its progress lines before it', async () => {
    expect(exitCode).toBe(0);
    const merged = readFileSync(log, 'utf8');
    // Progress came first (stderr), the report last (stdout).
    expect(merged.split('\n').some((line) => line.startsWith('[pod-kill notification-service] '))).toBe(true);
    expect(merged.startsWith('{')).toBe(false);
    const { stdout } = await run(extract, [log]);
    expect(JSON.parse(stdout)).toEqual(
      JSON.parse(readFileSync(join(work, 'reports/chaos-report.json'), 'utf8')),
    );
  });

  it("leaves out a progress line the runtime copied in among the report's lines", async () => {
    const lines = readFileSync(log, 'utf8').split('\n');
    const opening = lines.lastIndexOf('{');
    lines.splice(opening + 30, 0, '[pod-kill notification-service] warning: a late line from stderr');
    const interleaved = join(work, 'interleaved.log');
    writeFileSync(interleaved, lines.join('\n'));
    const { stdout } = await run(extract, [interleaved]);
    expect(JSON.parse(stdout)).toEqual(
      JSON.parse(readFileSync(join(work, 'reports/chaos-report.json'), 'utf8')),
    );
  });

  it('prints nothing for a log without a report (the suite died before writing one)', async () => {
    const broken = join(work, 'broken.log');
    writeFileSync(broken, '[pod-kill inventory-service] cannot watch pods: forbidden\n');
    expect((await run(extract, [broken])).stdout).toBe('');
  });
});

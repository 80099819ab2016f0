// Flags go through the suite schema: a flag and the same field in a suite file are accepted and
// refused alike, with the same message, before anything runs (a dry run with no platform).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

const cli = resolve(import.meta.dirname, '../../bundle/cli.js');
const work = mkdtempSync(join(tmpdir(), 'chaosctl-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function chaosctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const where = ['--driver', 'local', '--state-dir', join(work, 'none'), '--dry-run'];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args, ...where], {
      cwd: work,
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
}

let suites = 0;
function suite(run: string, experiment: string): string {
  const file = join(work, `suite-${suites++}.yaml`);
  writeFileSync(file, `version: 1\n${run}\nexperiments:\n  - { ${experiment} }\n`);
  return file;
}

const cpuStress = ['cpu-stress', '--service', 'order-service'];

describe('a flag and its suite field', () => {
  it.each([
    [
      '--duration 99999999999m',
      [...cpuStress, '--duration', '99999999999m'],
      suite('', 'type: cpu-stress, service: order-service, duration: 99999999999m'),
      ['--duration', 'experiments[0].duration'],
      "must be at most 596h (2147483647 ms, the longest timer Node holds) (got '99999999999m')",
    ],
    [
      '--warmup 40000m',
      [...cpuStress, '--duration', '5s', '--warmup', '40000m'],
      suite('warmup: 40000m', 'type: cpu-stress, service: order-service, duration: 5s'),
      ['--warmup', 'warmup'],
      "must be at most 596h (2147483647 ms, the longest timer Node holds) (got '40000m')",
    ],
    [
      '--workers 1000',
      [...cpuStress, '--duration', '5s', '--workers', '1000'],
      suite('', 'type: cpu-stress, service: order-service, duration: 5s, workers: 1000'),
      ['--workers', 'experiments[0].workers'],
      'must be <= 64 (got 1000)',
    ],
    [
      '--latency 0ms',
      ['network-delay', '--service', 'order-service', '--latency', '0ms'],
      suite('', 'type: network-delay, service: order-service, latency: 0ms, duration: 5s'),
      ['--latency', 'experiments[0].latency'],
      'must be more than 0: a zero delay breaks nothing',
    ],
    [
      '--max-p95 soon',
      [...cpuStress, '--duration', '5s', '--max-p95', 'soon'],
      suite('', 'type: cpu-stress, service: order-service, duration: 5s, thresholds: { maxP95: soon }'),
      ['--max-p95', 'experiments[0].thresholds.maxP95'],
      "must look like 300ms, 30s, 2m or 1h (got 'soon')",
    ],
  ])('refuse %s alike, in one line, exit 2', async (_, args, file, [flag, field], message) => {
    const byFlag = await chaosctl(args);
    const bySuite = await chaosctl(['run-all', '--suite', file]);
    expect(byFlag).toMatchObject({ code: 2, stdout: '', stderr: `chaosctl: ${flag} ${message}\n` });
    expect(bySuite).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `chaosctl: ${file}: ${field} ${message}\n`,
    });
  });

  it('accept a duration in hours alike', async () => {
    const byFlag = await chaosctl([...cpuStress, '--duration', '1h']);
    const bySuite = await chaosctl([
      'run-all',
      '--suite',
      suite('', 'type: cpu-stress, service: order-service, duration: 1h'),
    ]);
    for (const run of [byFlag, bySuite]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(
        'would run cpu-stress order-service: 2 CPU burners in order-service for 3600.0 s',
      );
    }
  });

  it('name their target when several are: a bare --selector or an unknown --url target is refused', async () => {
    expect(await chaosctl(['run-all', '--selector', 'app=x'])).toMatchObject({
      code: 2,
      stderr: 'chaosctl: run-all has several targets: give --selector as <target>=<selector>\n',
    });
    expect(await chaosctl(['run-all', '--url', 'checkout=http://127.0.0.1:1'])).toMatchObject({
      code: 2,
      stderr:
        'chaosctl: --url names checkout, which is no target of the suite (targets: order-service, inventory-service, notification-service)\n',
    });
  });
});

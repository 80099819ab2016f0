// chaosctl against a service nobody on this project wrote: examples/webdav/webdav.chaos.yaml runs
// Debian's lighttpd with WebDAV (two replicas sharing one directory, started by its own command)
// and stores documents with PUT, each read back after the chaos. pod-kill, network-delay,
// cpu-stress and run-all pass with read-back integrity and reports; an abort condition stops an
// experiment and removes its fault; a probe failing before the fault means none is injected.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { requireLighttpd } from '../src/drivers/local/test-support/lighttpd.js';
import type { ExperimentResult } from '../src/experiments/result.js';
import type { Report } from '../src/reporters/report.js';
import { freeBasePort, repoRoot, runChaosctl } from './harness.js';

const example = join(repoRoot, 'examples/webdav');
const suite = join(example, 'webdav.chaos.yaml');
const work = mkdtempSync(join(tmpdir(), 'chaosctl-any-service-'));
const stateDir = join(work, 'state');
const chaosctl = (args: string[]) => runChaosctl(args, { cwd: work });
const local = ['--driver', 'local', '--state-dir', stateDir];

/** A variant of the example suite, written beside it (its command's config is relative to it). */
function variant(name: string, change: (doc: Record<string, unknown>) => void): string {
  const doc = parse(readFileSync(suite, 'utf8')) as Record<string, unknown>;
  change(doc);
  const file = join(example, `.${name}.test.yaml`);
  writeFileSync(file, stringify(doc));
  variants.push(file);
  return file;
}
const variants: string[] = [];

beforeAll(async () => {
  requireLighttpd();
  const up = await chaosctl([
    'local',
    'up',
    '--suite',
    suite,
    '--base-port',
    String(await freeBasePort()),
    '--state-dir',
    stateDir,
  ]);
  expect(up).toMatchObject({ code: 0, stderr: '' });
}, 120_000);

afterAll(async () => {
  await chaosctl(['local', 'down', '--state-dir', stateDir]);
  for (const file of variants) rmSync(file, { force: true });
  rmSync(work, { recursive: true, force: true });
}, 60_000);

const reportOf = (stdout: string) => JSON.parse(stdout) as Report;

function expectReadBack(e: ExperimentResult | undefined) {
  expect(e?.integrity?.acknowledged).toBeGreaterThan(20);
  expect(e?.integrity).toMatchObject({ passed: true, missing: [] });
  expect(e?.integrity?.readBack).toBe(e?.integrity?.acknowledged);
}

describe('a suite for lighttpd, run locally', () => {
  it('validates: the schema, the target at capacity, the probe answering', async () => {
    const run = await chaosctl(['validate', suite, ...local]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^ok {3}suite: 1 target\(s\), 2 request\(s\), 1 probe\(s\), 1 abort condition\(s\), 3 experiment\(s\)$/m,
    );
    expect(run.stdout).toMatch(/^ok {3}target files: 2\/2 ready, reached at http:\/\/127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toMatch(/^ok {3}probe files listed: /m);
  }, 60_000);

  it('passes run-all: pod-kill, network-delay and cpu-stress, every stored document read back', async () => {
    const reports = join(work, 'reports');
    const run = await chaosctl(['run-all', '--suite', suite, ...local, '--report-dir', reports, '--json']);
    const report = reportOf(run.stdout);
    expect(report.experiments.map((e) => [e.name, e.status, e.error ?? ''])).toEqual([
      ['kill a lighttpd replica', 'pass', ''],
      ['200 ms in front of lighttpd', 'pass', ''],
      ['CPU burn next to lighttpd', 'pass', ''],
    ]);
    expect(run.code).toBe(0);
    for (const e of report.experiments) {
      expect(e.fault.verified).toBe(true);
      expectReadBack(e);
      expect(e.probes.before).toMatchObject([{ name: 'files listed', ok: true }]);
      expect(e.thresholds.map((t) => t.name)).toContain('steady-state');
      // Both replicas served the traffic before the fault (lighttpd names itself in X-Served-By).
      expect(Object.keys(e.traffic.replicas.beforeShare).sort()).toEqual(['files-0', 'files-1']);
    }
    // The delay was felt by the suite's own requests through the target's port.
    expect(report.experiments[1]?.traffic.during.p95Ms).toBeGreaterThan(150);
    for (const file of ['chaos-report.json', 'chaos-junit.xml', 'chaos-report.html'])
      expect(existsSync(join(reports, file))).toBe(true);
  }, 300_000);

  it('runs one experiment from flags with the suite: pod-kill --service files --suite', async () => {
    const run = await chaosctl(['pod-kill', '--service', 'files', '--suite', suite, ...local, '--json']);
    const [e] = reportOf(run.stdout).experiments;
    expect([run.code, e?.status, e?.error]).toEqual([0, 'pass', undefined]);
    expectReadBack(e);
  }, 120_000);

  it('aborts when a probe keeps failing under the delay: exit 5, the fault removed at once', async () => {
    const file = variant('abort', (doc) => {
      // A small answer (not the listing, which grows with every stored document), fast unless delayed.
      doc.probes = [
        {
          name: 'answers fast',
          http: { target: 'files', path: '/none.json', status: [404], maxLatency: '300ms' },
        },
      ];
      doc.abort = [{ probe: 'answers fast', for: '1s' }];
      doc.experiments = [
        { name: 'slow for long', type: 'network-delay', target: 'files', latency: '400ms', duration: '60s' },
      ];
    });
    const reports = join(work, 'aborted');
    const run = await chaosctl(['run-all', '--suite', file, ...local, '--report-dir', reports, '--json']);
    const report = reportOf(run.stdout);
    const [e] = report.experiments;
    expect([run.code, report.verdict, e?.status]).toEqual([5, 'aborted', 'aborted']);
    expect(e?.abort?.condition).toMatch(/answers fast/);
    // Stopped within seconds of the injection, not after its 60 s.
    const ranMs = Date.parse(e?.finishedAt ?? '') - Date.parse(e?.fault.injectedAt ?? '');
    expect(ranMs).toBeLessThan(15_000);
    const status = JSON.parse(
      (await chaosctl(['local', 'status', '--json', '--state-dir', stateDir])).stdout,
    );
    expect(status.faults).toEqual([]);
    const junit = readFileSync(join(reports, 'chaos-junit.xml'), 'utf8');
    expect(junit).toMatch(
      /<testcase [^>]*name="no abort condition fired"[^>]*>\s*<failure message="aborted by [^"]*answers fast/,
    );
  }, 120_000);

  it('injects nothing when the steady-state hypothesis does not hold before the fault', async () => {
    const file = variant('unsteady', (doc) => {
      doc.probes = [{ name: 'a teapot', http: { target: 'files', path: '/', status: [418] } }];
      doc.experiments = [{ type: 'cpu-stress', target: 'files', workers: 1, duration: '5s' }];
    });
    const run = await chaosctl([
      'run-all',
      '--suite',
      file,
      ...local,
      '--report-dir',
      join(work, 'unsteady'),
      '--json',
    ]);
    const [e] = reportOf(run.stdout).experiments;
    expect([run.code, e?.status, e?.fault.injectedAt]).toEqual([1, 'fail', null]);
    expect(e?.probes.before).toMatchObject([{ name: 'a teapot', ok: false }]);
    expect(e?.error).toMatch(
      /^the steady-state hypothesis did not hold before the fault, so none was injected: a teapot: /,
    );
  }, 120_000);

  it('refuses a wrong suite in one line naming the field, exit 2', async () => {
    const file = variant('wrong', (doc) => {
      const [store] = (doc.traffic as { requests: Array<Record<string, unknown>> }).requests;
      if (store) store.target = 'flies';
    });
    const run = await chaosctl(['run-all', '--suite', file, ...local]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /traffic\.requests\[0\]\.target names no target of this suite \(got 'flies'; targets: files\)$/,
      ),
    ]);
  }, 60_000);
});

// chaosctl end to end: the real CLI against the real services, run by `chaosctl local up`.
// Short faults, low rates; everything started here is stopped in afterAll.
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { alive } from '../src/drivers/local/platform.js';
import { REPORT_FILES } from '../src/reporters/write.js';
import { cli, freeBasePort, localUp, repoRoot, runChaosctl, testTraffic, validateReport } from './harness.js';

const work = mkdtempSync(join(tmpdir(), 'chaosctl-test-'));
const stateDir = join(work, 'state');
const chaosctl = (args: string[], timeoutMs = 90_000) => runChaosctl(args, { cwd: work, timeoutMs });

const experiment = (reportDir: string) => [
  '--driver',
  'local',
  '--state-dir',
  stateDir,
  ...testTraffic(join(work, reportDir)),
  // As a caller of a Service must, and the default suite does: a killed replica cuts off what it held.
  '--retries',
  '2',
  '--retry-backoff',
  '20ms',
];

const validJunit = (file: string) =>
  promisify(execFile)('xmllint', ['--noout', '--schema', join(repoRoot, 'docs/schemas/junit.xsd'), file]);

async function status() {
  const { stdout } = await chaosctl(['local', 'status', '--json', '--state-dir', stateDir]);
  return JSON.parse(stdout) as {
    running: boolean;
    ready: boolean;
    faults: unknown[];
    services: Record<string, { replicas: Array<{ restarts: number }> }>;
  };
}

/**
 * Starts a minute-long network-delay, runs `whileInjected` once the fault is on, then presses
 * Ctrl-C and resolves with chaosctl's exit code and what it wrote on stderr.
 */
async function interruptOnceInjected(
  args: string[],
  whileInjected: () => Promise<void>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [cli, 'network-delay', '--latency', '300ms', '--duration', '60s', ...args],
    {
      cwd: work,
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  for (let i = 0; i < 400 && !stderr.includes('fault:'); i++) await new Promise((r) => setTimeout(r, 100));
  try {
    expect(stderr).toContain('fault:');
    await whileInjected();
  } finally {
    child.kill('SIGINT');
  }
  return new Promise((done) => child.once('exit', (code) => done({ code, stderr })));
}

beforeAll(async () => {
  const up = await localUp(stateDir, work);
  expect(up).toMatchObject({ code: 0 });
  expect(up.stdout).toContain('local platform up');
}, 90_000);

afterAll(async () => {
  const down = await chaosctl(['local', 'down', '--state-dir', stateDir]);
  rmSync(work, { recursive: true, force: true });
  expect(down.code).toBe(0);
}, 30_000);

describe('chaosctl with the local driver', () => {
  it('kills a replica, measures recovery and passes with valid JSON and JUnit reports', async () => {
    const before = await status();
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--json',
      ...experiment('pod-kill'),
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(validateReport(report)).toBe(true);
    const [result] = report.experiments;
    expect(result).toMatchObject({
      status: 'pass',
      fault: { verified: true },
      traffic: { retry: { retries: 2, backoffMs: 20 } },
    });
    expect(result.recovery.totalMs).toBeGreaterThan(0);
    expect(result.recovery.totalMs).toBeLessThan(30_000);
    // The platform's first orders warm it up outside the baseline, which shows its seconds' p95.
    expect(result.traffic.warmup.requests).toBeGreaterThan(0);
    expect(result.traffic.before.requests).toBeGreaterThan(0);
    expect(result.traffic.beforeP95BySecondMs.length).toBeGreaterThan(0);
    // Spread over the replicas before the fault, as a Service spreads a population of clients.
    const shares = Object.values(result.traffic.replicas.beforeShare) as number[];
    expect(shares.length).toBeGreaterThanOrEqual(2);
    for (const share of shares) expect(share).toBeGreaterThan(0.25);
    expect(result.integrity).toMatchObject({ passed: true, missing: [] });
    // The shop's stock, a probe of its suite: each product's available + reserved unchanged.
    expect(result.probes.before).toMatchObject([{ name: 'stock conserved', ok: true }]);
    expect(result.probes.after).toMatchObject([{ name: 'stock conserved', ok: true }]);
    expect(result.integrity.acknowledged).toBeGreaterThan(10);
    const restarts = (s: typeof before) =>
      s.services['order-service']?.replicas.reduce((n, r) => n + r.restarts, 0);
    expect(restarts(await status())).toBe((restarts(before) ?? 0) + 1);
    await validJunit(join(work, 'pod-kill/chaos-junit.xml'));
    expect(JSON.parse(readFileSync(join(work, 'pod-kill/chaos-report.json'), 'utf8'))).toEqual(report);
  }, 60_000);

  it('fails on a significant regression against a baseline of repeated runs', async () => {
    const earlier = JSON.parse(readFileSync(join(work, 'pod-kill/chaos-report.json'), 'utf8'));
    // A baseline of three runs that recovered in 1-3 ms: any real recovery (a replica's start-up,
    // 200 ms at the very least) is a regression beyond the minimum effect, in every run.
    const [first] = earlier.experiments;
    earlier.experiments = [1, 2, 3].map((ms) => ({
      ...first,
      name: `pod-kill order-service #${ms}`,
      recovery: { ...first.recovery, totalMs: ms },
    }));
    const baseline = join(work, 'baseline.json');
    writeFileSync(baseline, JSON.stringify(earlier));
    const run = await chaosctl(
      [
        'pod-kill',
        '--service',
        'order-service',
        '--repeat',
        '3',
        '--json',
        '--baseline',
        baseline,
        '--min-effect',
        '100ms',
        ...experiment('regressed'),
      ],
      150_000,
    );
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(validateReport(report)).toBe(true);
    expect(report.verdict).toBe('fail');
    const [repeat] = report.repeats;
    expect(repeat.baseline).toMatchObject({ verdict: 'regression', minEffect: '100 ms' });
    expect(repeat.baseline.checks.recoveryMs).toMatchObject({
      verdict: 'regression',
      runs: 3,
      baselineRuns: 3,
      baselineMedian: 2,
      minEffect: 100,
      reason: expect.stringMatching(/lies above the minimum effect \(100\)$/),
    });
    expect(repeat.baseline.checks.recoveryMs.ci[0]).toBeGreaterThan(100);
    // Latency depends on how busy the machine is; only that it was compared is certain.
    expect(repeat.baseline.checks.p95DuringMs).toMatchObject({ runs: 3, baselineRuns: 3 });
    // Jenkins sees the regression too: a failed testcase in the baseline's testsuite.
    const junit = readFileSync(join(work, 'regressed/chaos-junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuite name="baseline: pod-kill order-service"[^>]* failures="[12]"/);
    expect(junit).toMatch(
      /<testcase classname="chaosctl.baseline" name="recoveryMs regression &gt; 100 ms" time="0">\s*<failure message="regression: /,
    );
    await validJunit(join(work, 'regressed/chaos-junit.xml'));
  }, 150_000);

  it('exits 4, inconclusive, when a single run is compared with a single-run baseline', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--baseline',
      join(work, 'pod-kill/chaos-report.json'),
      ...experiment('inconclusive'),
    ]);
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/ {2}against the baseline \(min effect 250 ms\): INCONCLUSIVE/);
    expect(run.stdout).toMatch(/1 runs against 1 in the baseline: at least 3 on each side are needed/);
    expect(run.stdout).toMatch(/verdict: INCONCLUSIVE/);
    const report = JSON.parse(readFileSync(join(work, 'inconclusive/chaos-report.json'), 'utf8'));
    expect(validateReport(report)).toBe(true);
    expect(report.verdict).toBe('inconclusive');
    // In JUnit an inconclusive comparison neither passes nor fails: it is skipped, with its reason.
    expect(readFileSync(join(work, 'inconclusive/chaos-junit.xml'), 'utf8')).toMatch(
      /<skipped message="inconclusive: 1 runs against 1/,
    );
    await validJunit(join(work, 'inconclusive/chaos-junit.xml'));
  }, 60_000);

  it('repeats an experiment and reports recovery over the runs, with an HTML report', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'notification-service',
      '--repeat',
      '2',
      '--json',
      ...experiment('repeat'),
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(validateReport(report)).toBe(true);
    expect(report.experiments.map((e: { name: string }) => e.name)).toEqual([
      'pod-kill notification-service #1',
      'pod-kill notification-service #2',
    ]);
    const [repeat] = report.repeats;
    expect(repeat).toMatchObject({ name: 'pod-kill notification-service', runs: 2 });
    // Every run measures recovery and capacity: two values, their median, and a seeded bootstrap
    // interval within their range.
    const totals = report.experiments.map((e: { recovery: { totalMs: number } }) => e.recovery.totalMs);
    const { totalMs, capacityRestoredMs, p95DuringMs } = repeat.figures;
    expect(totalMs).toEqual({ runs: 2, median: (totals[0] + totals[1]) / 2, ci: expect.any(Array) });
    expect(totalMs.ci[0]).toBeGreaterThanOrEqual(Math.min(...totals));
    expect(totalMs.ci[1]).toBeLessThanOrEqual(Math.max(...totals));
    expect(capacityRestoredMs.runs).toBe(2);
    expect(p95DuringMs.runs).toBe(2);
    const html = readFileSync(join(work, 'repeat/chaos-report.html'), 'utf8');
    expect(html.match(/<table class="verdicts">[\s\S]*?<\/table>/)?.[0]).toContain(
      'pod-kill notification-service #2',
    );
    expect(html).toContain('<table class="repeats">');
    expect(html.match(/data-chart="latency"/g)).toHaveLength(2);
    // The local platform's replicas answer with X-Served-By: each run charts its traffic per replica.
    expect(html.match(/data-chart="replicas"/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3)/);
  }, 90_000);

  it('renders JUnit and HTML again from a JSON report', async () => {
    const run = await chaosctl([
      'report',
      join(work, 'pod-kill/chaos-report.json'),
      '--report-dir',
      join(work, 'rendered'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/verdict: PASS/);
    expect(readFileSync(join(work, 'rendered/chaos-junit.xml'), 'utf8')).toBe(
      readFileSync(join(work, 'pod-kill/chaos-junit.xml'), 'utf8'),
    );
    expect((await chaosctl(['report', join(work, 'nothing.json')])).code).toBe(2);
    // A hand-edited or truncated report: one line and exit 2, never a crash.
    const malformed = join(work, 'malformed.json');
    writeFileSync(malformed, JSON.stringify({ schemaVersion: 3, experiments: [{}] }));
    const bad = await chaosctl(['report', malformed]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^chaosctl: cannot use \S+malformed.json: experiments\[0\] is not an experiment result \(no name, status/,
    );
  });

  it('fails with exit 1 and a JUnit failure when a threshold cannot be met', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'inventory-service',
      '--sla',
      '1ms',
      ...experiment('impossible'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL/);
    // The experiment's own line says which limit it broke.
    expect(run.stderr).toMatch(
      /pod-kill inventory-service: FAIL, .*\(capacity-restored: measured [\d.]+ m?s, limit 1 ms/,
    );
    const junit = readFileSync(join(work, 'impossible/chaos-junit.xml'), 'utf8');
    expect(junit).toMatch(/<failure message="capacity-restored: measured [\d.]+ m?s, limit 1 ms"/);
    expect(junit).toMatch(/<property name="recovery.capacityRestoredMs" value="\d+"\/>/);
    await validJunit(join(work, 'impossible/chaos-junit.xml'));
  }, 60_000);

  it('adds latency in front of a service, sees it in the traffic, and removes it', async () => {
    const run = await chaosctl([
      'network-delay',
      '--service',
      'inventory-service',
      '--latency',
      '200ms',
      '--duration',
      '2s',
      '--json',
      ...experiment('delay'),
    ]);
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout).experiments;
    expect(result.fault.verified).toBe(true);
    expect(result.traffic.during.p50Ms - result.traffic.before.p50Ms).toBeGreaterThan(100);
    expect((await status()).faults).toEqual([]);
  }, 60_000);

  it("burns CPU on the target replicas' own CPU for the duration and proves it had no idle time left", async () => {
    const run = await chaosctl([
      'cpu-stress',
      '--service',
      'order-service',
      '--workers',
      '4',
      '--duration',
      '4s',
      '--json',
      ...experiment('cpu'),
    ]);
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout).experiments;
    expect(result.fault).toMatchObject({
      verified: true,
      evidence: expect.stringMatching(
        /^cpu0 running order-service had \d+% idle time while the burners ran; its replicas waited \d+ ms for it per 100 ms they ran$/,
      ),
    });
  }, 60_000);

  it('runs a suite into one combined report', async () => {
    const suite = join(work, 'suite.yaml');
    writeFileSync(
      suite,
      [
        'version: 1',
        'rps: 15',
        'warmup: 1s',
        'cooldown: 2s',
        'retries: 1',
        'retryBackoff: 10ms',
        'experiments:',
        '  - { type: pod-kill, service: notification-service, thresholds: { maxP95: 10s } }',
        '  - { type: network-delay, service: order-service, latency: 150ms, duration: 1s, thresholds: { maxP95: 10s } }',
      ].join('\n'),
    );
    const run = await chaosctl([
      'run-all',
      '--suite',
      suite,
      ...experiment('suite').slice(0, 4),
      '--report-dir',
      join(work, 'suite'),
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(work, 'suite/chaos-report.json'), 'utf8'));
    expect(validateReport(report)).toBe(true);
    expect(report.experiments.map((e: { type: string }) => e.type)).toEqual(['pod-kill', 'network-delay']);
    expect(report.experiments[0].traffic).toMatchObject({ rps: 15, retry: { retries: 1, backoffMs: 10 } });
    await validJunit(join(work, 'suite/chaos-junit.xml'));
  }, 90_000);

  it('removes the injected latency when interrupted with Ctrl-C, says so, and leaves no stale report', async () => {
    const reports = join(work, 'interrupted');
    mkdirSync(reports, { recursive: true });
    for (const file of Object.values(REPORT_FILES)) writeFileSync(join(reports, file), 'an earlier run');
    const interrupted = await interruptOnceInjected(
      ['--service', 'inventory-service', ...experiment('interrupted')],
      async () => {
        expect((await status()).faults).toHaveLength(1);
      },
    );
    expect(interrupted.code).toBe(130);
    expect((await status()).faults).toEqual([]);
    const said = interrupted.stderr.trimEnd().split('\n').at(-1);
    expect(said).toMatch(
      /^chaosctl: interrupted: removed the network-delay \(300 ms .* inventory-service .*\), stopped the traffic to order-service; no report written$/,
    );
    expect(readdirSync(reports)).toEqual([]);
  }, 60_000);

  it('says what it would break on --dry-run and breaks nothing', async () => {
    const before = await status();
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--dry-run',
      '--no-color',
      ...experiment('dry'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/would run pod-kill order-service/);
    const incarnations = (s: Awaited<ReturnType<typeof status>>) =>
      Object.values(s.services).flatMap((svc) => svc.replicas.map((r) => r.restarts));
    expect(incarnations(await status())).toEqual(incarnations(before));
  });

  it('takes a whole service down with --all --allow-outage, and measures the outage', async () => {
    const refused = await chaosctl([
      'pod-kill',
      '--service',
      'notification-service',
      '--all',
      ...experiment('all-refused'),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to kill 2 of 2 ready notification-service replicas/);

    // notification-service is behind the outbox: users see no errors even with it entirely down.
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'notification-service',
      '--all',
      '--allow-outage',
      '--json',
      ...experiment('all'),
    ]);
    const [result] = JSON.parse(run.stdout).experiments;
    expect(result.parameters).toMatchObject({ count: 'all' });
    expect(result.fault).toMatchObject({
      verified: true,
      summary: expect.stringMatching(/^crash \(SIGKILL\) /),
    });
    expect(result.fault.summary).toContain('notification-service-0');
    expect(result.fault.summary).toContain('notification-service-1');
    expect(result.traffic.during.errorRate).toBe(0);
    expect(run.code).toBe(0);
  }, 60_000);

  it.each([
    [
      ['--count', '2'],
      'outage',
      /^chaosctl: pod-kill order-service: refusing to kill 2 of 2 ready order-service replicas: that is an outage/,
    ],
    [
      ['--count', '5', '--allow-outage'],
      'count-5',
      /^chaosctl: pod-kill order-service: count 5 is more than the 2 ready order-service replicas/,
    ],
  ])('refuses pod-kill %j before anything runs, and writes no report', async (flags, reportDir, message) => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      ...flags,
      ...experiment(reportDir),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/traffic:/);
    expect(existsSync(join(work, reportDir))).toBe(false);
  });
});

describe('chaosctl usage errors', () => {
  const suiteWith = (name: string, text: string) => {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  };

  it.each([
    [['pod-kill'], /required option '--service <service>' not specified/],
    [
      ['pod-kill', '--service', 'payment-service', '--driver', 'local'],
      /the local platform runs order-service, inventory-service, notification-service; it has no payment-service/,
    ],
    [['pod-kill', '--service', 'Payment_Service'], /--service must be a Kubernetes name/],
    [
      ['network-delay', '--service', 'order-service', '--latency', '0ms', '--driver', 'local'],
      /--latency must be more than 0: a zero delay breaks nothing/,
    ],
    [
      ['cpu-stress', '--service', 'order-service', '--duration', '0s', '--driver', 'local'],
      /--duration must be more than 0: a fault that lasts no time breaks nothing/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--url', 'notaurl'],
      /--url must be http\(s\):\/\/host:port/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--mode', 'evict'],
      /--mode evict needs the kubernetes driver/,
    ],
    [['pod-kill', '--service', 'order-service', '--bogus'], /unknown option '--bogus'/],
    [
      ['network-delay', '--service', 'order-service', '--latency', 'slow', '--dry-run'],
      /--latency must look like 300ms, 30s, 2m or 1h \(got 'slow'\)/,
    ],
    [['pod-kill', '--service', 'order-service', '--count', '0'], /--count must be >= 1 \(got 0\)/],
    [['pod-kill', '--service', 'order-service', '--driver', 'docker'], /argument 'docker' is invalid/],
    [
      ['run-all', '--suite', '/nonexistent/suite.yaml'],
      /cannot read suite \/nonexistent\/suite.yaml: ENOENT/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'kubernetes', '--url', 'ftp://shop'],
      /--url must be http\(s\):\/\/host:port/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--rps', 'lots'],
      /--rps must be number \(got 'lots'\)/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--retries', '-1'],
      /^chaosctl: --retries must be >= 0 \(got -1\)\n$/,
    ],
    [['run-all', '--retries', 'x'], /^chaosctl: --retries must be integer \(got 'x'\)\n$/],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--retry-backoff', 'soon'],
      /--retry-backoff must look like 300ms, 30s, 2m or 1h \(got 'soon'\)/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--retry-backoff', '1m'],
      /--retry-backoff must be at most 5\.0 s \(got '1m'\)/,
    ],
    [
      ['pod-kill', '--service', 'order-service', '--driver', 'local', '--min-effect', 'fast'],
      /--min-effect must be a duration like 250ms or a share of the baseline like 20% \(got 'fast'\)/,
    ],
  ])('exits 2 with one clear line for %j', async (args, message) => {
    const run = await chaosctl([...args, '--state-dir', stateDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['not YAML', 'experiments: [', /not valid YAML/],
    [
      'an unknown experiment type',
      'version: 1\nexperiments:\n  - { type: disk-fill, service: order-service }',
      /experiments\[0\]\.type must be one of/,
    ],
    [
      'a misspelt field',
      'version: 1\nexperiments:\n  - { type: pod-kill, service: order-service, cuont: 2 }',
      /experiments\[0\].*cuont/,
    ],
    [
      'a bad duration',
      'version: 1\nexperiments:\n  - { type: cpu-stress, service: order-service, duration: soon }',
      /experiments\[0\]\.duration/,
    ],
    ['no experiments', 'version: 1\nexperiments: []', /experiments/],
    [
      'too many client retries',
      'version: 1\nretries: 11\nexperiments:\n  - { type: pod-kill, service: order-service }',
      /retries must be <= 10/,
    ],
  ])('rejects a suite with %s', async (name, text, message) => {
    const run = await chaosctl([
      'run-all',
      '--suite',
      suiteWith(`${name}.yaml`, text),
      '--state-dir',
      stateDir,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });

  it('exits 3 when no platform is running', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--driver',
      'local',
      '--state-dir',
      join(work, 'none'),
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/no local platform is running/);
  });
});

describe('chaosctl local down', () => {
  it('leaves no replica behind when the supervisor itself is SIGKILLed', async () => {
    const dir = join(work, 'orphans');
    const up = await chaosctl([
      'local',
      'up',
      '--replicas',
      '1',
      '--base-port',
      String(await freeBasePort()),
      '--state-dir',
      dir,
    ]);
    expect(up.code).toBe(0);
    const { stdout } = await chaosctl(['local', 'status', '--json', '--state-dir', dir]);
    const pids = Object.values(
      JSON.parse(stdout).services as Record<string, { replicas: Array<{ pid: number }> }>,
    ).flatMap((svc) => svc.replicas.map((r) => r.pid));
    const { pid } = JSON.parse(readFileSync(join(dir, 'local.json'), 'utf8')) as { pid: number };
    expect(pids.filter(alive)).toHaveLength(3);
    process.kill(pid, 'SIGKILL');
    // The replicas notice their supervisor is gone and stop by themselves, without `local down`.
    for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
    expect((await chaosctl(['local', 'down', '--state-dir', dir])).code).toBe(0);
  }, 60_000);
});

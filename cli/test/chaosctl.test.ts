// chaosctl end to end: the real CLI against the real services, run by `chaosctl local up`.
// Short faults, low rates; everything started here is stopped in afterAll.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { alive } from '../src/drivers/local/platform.js';
import { FakeKubeApi } from './kube-api-server.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const cli = join(repoRoot, 'cli/dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'chaosctl-test-'));
const stateDir = join(work, 'state');
const schema = JSON.parse(readFileSync(join(repoRoot, 'docs/schemas/chaosctl-report.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
addFormats.default(ajv);
const validateReport = ajv.compile(schema);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function chaosctl(args: string[], timeoutMs = 90_000): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], {
      cwd: work,
      timeout: timeoutMs,
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** A port p with p+1, p+2 and p+99 free too: the local platform's proxies and control API. */
async function freeBasePort(): Promise<number> {
  const listen = (port: number) =>
    new Promise<boolean>((done) => {
      const server = createServer();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
  for (;;) {
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
}

const experiment = (reportDir: string) => [
  '--driver',
  'local',
  '--state-dir',
  stateDir,
  '--rps',
  '20',
  '--warmup',
  '1s',
  '--cooldown',
  '1s',
  '--report-dir',
  join(work, reportDir),
  // These tests prove the mechanics; latency on a busy CI machine is not what they measure.
  '--max-p95',
  '10s',
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

let base = 0;

/**
 * Starts a minute-long network-delay, runs `whileInjected` once the fault is on, then presses
 * Ctrl-C and resolves with chaosctl's exit code.
 */
async function interruptOnceInjected(
  args: string[],
  whileInjected: () => Promise<void>,
): Promise<number | null> {
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
  return new Promise((done) => child.once('exit', (code) => done(code)));
}

beforeAll(async () => {
  base = await freeBasePort();
  const up = await chaosctl([
    'local',
    'up',
    '--replicas',
    '2',
    '--base-port',
    String(base),
    '--state-dir',
    stateDir,
  ]);
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
    expect(result).toMatchObject({ status: 'pass', fault: { verified: true } });
    expect(result.recovery.totalMs).toBeGreaterThan(0);
    expect(result.recovery.totalMs).toBeLessThan(30_000);
    expect(result.integrity).toMatchObject({ passed: true, stockConserved: true });
    expect(result.integrity.acknowledged).toBeGreaterThan(10);
    const restarts = (s: typeof before) =>
      s.services['order-service']?.replicas.reduce((n, r) => n + r.restarts, 0);
    expect(restarts(await status())).toBe((restarts(before) ?? 0) + 1);
    await validJunit(join(work, 'pod-kill/chaos-junit.xml'));
    expect(JSON.parse(readFileSync(join(work, 'pod-kill/chaos-report.json'), 'utf8'))).toEqual(report);
  }, 60_000);

  it('fails on a regression against a baseline report', async () => {
    const earlier = JSON.parse(readFileSync(join(work, 'pod-kill/chaos-report.json'), 'utf8'));
    // A baseline where recovery took 1 ms: any real recovery is a regression beyond 50%.
    earlier.experiments[0].recovery.totalMs = 1;
    const baseline = join(work, 'baseline.json');
    writeFileSync(baseline, JSON.stringify(earlier));
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--json',
      '--baseline',
      baseline,
      ...experiment('regressed'),
    ]);
    expect(run.code).toBe(1);
    const [result] = JSON.parse(run.stdout).experiments;
    expect(result.thresholds).toContainEqual(
      expect.objectContaining({ name: 'recovery-regression', limit: 252, passed: false }),
    );
    // Latency depends on how busy the machine is; only its presence is certain.
    expect(result.thresholds).toContainEqual(expect.objectContaining({ name: 'p95-regression' }));
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
    expect(report.repeats).toEqual([
      {
        name: 'pod-kill notification-service',
        runs: 2,
        recoveryMs: { p50: expect.any(Number), p95: expect.any(Number), max: expect.any(Number) },
      },
    ]);
    const html = readFileSync(join(work, 'repeat/chaos-report.html'), 'utf8');
    expect(html).toContain('pod-kill notification-service #2');
    expect(html.match(/<svg/g)).toHaveLength(6);
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
    const junit = readFileSync(join(work, 'impossible/chaos-junit.xml'), 'utf8');
    expect(junit).toMatch(/<failure message="recovery-time: measured \d+ ms, limit 1 ms"/);
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

  it('burns CPU for the duration and proves the burn ran', async () => {
    const run = await chaosctl([
      'cpu-stress',
      '--service',
      'order-service',
      '--workers',
      '1',
      '--duration',
      '2s',
      '--json',
      ...experiment('cpu'),
    ]);
    expect(run.code).toBe(0);
    const [result] = JSON.parse(run.stdout).experiments;
    expect(result.fault).toMatchObject({
      verified: true,
      evidence: expect.stringMatching(/burners used \d+ ms of CPU/),
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
        'cooldown: 1s',
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
    expect(report.experiments[0].traffic.rps).toBe(15);
    await validJunit(join(work, 'suite/chaos-junit.xml'));
  }, 90_000);

  it('removes the injected latency when interrupted with Ctrl-C', async () => {
    const interrupted = await interruptOnceInjected(
      ['--service', 'inventory-service', ...experiment('interrupted')],
      async () => {
        expect((await status()).faults).toHaveLength(1);
      },
    );
    expect(interrupted).toBe(130);
    expect((await status()).faults).toEqual([]);
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
    expect((await status()).services).toEqual(before.services);
  });

  it('takes a whole service down with --all --allow-outage, and measures the outage', async () => {
    const refused = await chaosctl([
      'pod-kill',
      '--service',
      'notification-service',
      '--all',
      ...experiment('all-refused'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(
      /refusing to kill 2 of 2 ready notification-service replicas/,
    );

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
    expect(result.parameters).toEqual({ count: 'all' });
    expect(result.fault).toMatchObject({
      verified: true,
      evidence: expect.stringMatching(/notification-service-0, notification-service-1 killed/),
    });
    expect(result.traffic.during.errorRate).toBe(0);
    expect(run.code).toBe(0);
  }, 60_000);

  it('refuses to kill every replica without --allow-outage', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--count',
      '2',
      ...experiment('outage'),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/refusing to kill 2 of 2 ready order-service replicas/);
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
    [['pod-kill', '--service', 'payment-service'], /argument 'payment-service' is invalid/],
    [['pod-kill', '--service', 'order-service', '--bogus'], /unknown option '--bogus'/],
    [
      ['network-delay', '--service', 'order-service', '--latency', 'slow', '--dry-run'],
      /--latency must look like 300ms, 30s or 2m \(got 'slow'\)/,
    ],
    [['pod-kill', '--service', 'order-service', '--count', '0'], /--count must be a positive integer/],
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
      /--rps must be a number/,
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

describe('chaosctl with the kubernetes driver (against the API server test double)', () => {
  // Faults go to the test double of the Kubernetes API (kube-api-server.ts); traffic and the
  // integrity check go, through --url, to the real services the local platform runs.
  let api: FakeKubeApi;
  let kubeconfig: string;
  beforeAll(async () => {
    api = await new FakeKubeApi().start();
    for (const app of ['order-service', 'inventory-service', 'notification-service'])
      api.addDeployment('shop', app, 2);
    kubeconfig = api.writeKubeconfig(join(work, 'kubeconfig'));
  });
  afterAll(() => api.stop());

  const kube = (reportDir: string) => [
    '--driver',
    'kubernetes',
    '--kubeconfig',
    kubeconfig,
    '--namespace',
    'shop',
    '--url',
    `http://127.0.0.1:${base}`,
    `inventory-service=http://127.0.0.1:${base + 1}`,
    '--rps',
    '20',
    '--warmup',
    '1s',
    '--cooldown',
    '1s',
    '--report-dir',
    join(work, reportDir),
  ];

  it('deletes a pod and follows its successor to ready through the watch', async () => {
    const run = await chaosctl(['pod-kill', '--service', 'order-service', '--json', ...kube('kube-kill')]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(validateReport(report)).toBe(true);
    expect(report.driver).toBe('kubernetes');
    const [result] = report.experiments;
    expect(api.deleted).toHaveLength(1);
    expect(result.fault).toMatchObject({
      verified: true,
      evidence: expect.stringContaining(`${api.deleted[0]} killed and replaced by`),
    });
    expect(result.recovery.replacementReadyMs).toBeGreaterThanOrEqual(600);
  }, 60_000);

  it('clears the injected latency when interrupted with Ctrl-C', async () => {
    const netem = (prefix: string) =>
      api.ephemeral.filter((e) => String(e.container.name).startsWith(prefix));
    const interrupted = await interruptOnceInjected(
      ['--service', 'inventory-service', ...kube('kube-interrupted')],
      async () => {
        expect(netem('chaos-netem-').length).toBeGreaterThan(0);
      },
    );
    expect(interrupted).toBe(130);
    const injectedInto = netem('chaos-netem-').filter(
      (e) => !String(e.container.name).startsWith('chaos-netem-clear'),
    );
    expect(
      netem('chaos-netem-clear')
        .map((e) => e.pod)
        .sort(),
    ).toEqual(injectedInto.map((e) => e.pod).sort());
  }, 60_000);

  it('refuses kube-system', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      ...kube('kube-system'),
      '--namespace',
      'kube-system',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/protected namespace kube-system/);
  });
});

describe('chaosctl local down', () => {
  it('stops every replica even after the supervisor itself was SIGKILLed', async () => {
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
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(pids.filter(alive)).toHaveLength(3);
    expect((await chaosctl(['local', 'down', '--state-dir', dir])).code).toBe(0);
    for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});

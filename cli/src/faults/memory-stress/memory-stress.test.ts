// memory-stress end to end: the built chaosctl against the local platform (a holder beside the
// replicas, its resident memory as evidence) and against the Kubernetes double (the cgroup's usage
// as evidence, or an OOM kill reported as such), natively and through Chaos Mesh.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localUp, runChaosctl, testTraffic, validateReport } from '../../../test/harness.js';
import { ContainerModel, installPlatform, startCluster } from '../../../test/kube-platform.js';

const work = mkdtempSync(join(tmpdir(), 'chaosctl-memory-stress-'));
const stateDir = join(work, 'state');
const chaosctl = (args: string[]) =>
  runChaosctl(args, { cwd: work, timeoutMs: 120_000, env: { HOME: work } });
let base = 0;
let cluster: Awaited<ReturnType<typeof startCluster>>;

beforeAll(async () => {
  base = (await localUp(stateDir, work)).base;
  cluster = await startCluster();
  new ContainerModel(cluster.kube, cluster.custom);
  await installPlatform(cluster);
  cluster.kube.installChaosMesh({ injectDelayMs: 200, recoverDelayMs: 200 });
}, 90_000);

afterAll(async () => {
  await runChaosctl(['local', 'down', '--state-dir', stateDir], { cwd: work });
  await cluster?.close();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

const kube = (backend: string) => [
  '--backend',
  backend,
  '--driver',
  'kubernetes',
  '--kubeconfig',
  cluster.kubeconfig,
  '--namespace',
  'shop',
  '--url',
  `http://127.0.0.1:${base}`,
  `inventory-service=http://127.0.0.1:${base + 1}`,
  '--json',
  ...testTraffic(join(work, backend)),
];

function resultOf(run: { code: number; stdout: string; stderr: string }) {
  expect({ code: run.code, said: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, said: '' });
  const report = JSON.parse(run.stdout);
  expect(validateReport(report)).toBe(true);
  const [result] = report.experiments;
  expect(result.type).toBe('memory-stress');
  expect(result.fault.verified).toBe(true);
  // A timed fault: removed, then users served as before, measured from the removal.
  expect(result.fault.removedAt).not.toBeNull();
  expect(result.recovery.userFacingMs).not.toBeNull();
  return result;
}

describe('memory-stress', () => {
  it('locally holds the memory in a process beside the replicas, resident as evidence', async () => {
    const run = await chaosctl([
      'memory-stress',
      '--service',
      'inventory-service',
      '--size',
      '64MB',
      '--duration',
      '2s',
      '--driver',
      'local',
      '--state-dir',
      stateDir,
      '--json',
      ...testTraffic(join(work, 'local')),
    ]);
    const result = resultOf(run);
    expect(result.status).toBe('pass');
    expect(result.fault.evidence).toMatch(
      /^the holder \(pid \d+\) has (6[0-9]|7[0-9]) MB resident of 64 MB$/,
    );
  }, 120_000);

  it.each(['kubernetes', 'chaos-mesh'])(
    "on Kubernetes (%s) holds it in the target container's cgroup, its usage as evidence",
    async (backend) => {
      const run = await chaosctl([
        'memory-stress',
        '--service',
        'inventory-service',
        '--size',
        '200MB',
        '--duration',
        '2s',
        ...kube(backend),
      ]);
      const result = resultOf(run);
      expect(result.status).toBe('pass');
      expect(result.backend).toBe(backend);
      expect(result.fault.evidence).toMatch(
        /^inventory-service-\S+\/inventory-service cgroup usage 84 MB -> \d+ MB \(200 MB held, limit 537 MB\); /,
      );
    },
    120_000,
  );

  it('reports an OOM kill as such when the share held takes the container past its limit', async () => {
    const run = await chaosctl([
      'memory-stress',
      '--service',
      'inventory-service',
      '--share',
      '0.95',
      '--duration',
      '2s',
      ...kube('kubernetes'),
    ]);
    const result = resultOf(run);
    expect(result.fault.evidence).toMatch(
      /OOM killed \(restartCount \d+ -> \d+\)|OOM kill\(s\) in its cgroup/,
    );
  }, 120_000);

  it('refuses a size and a share together before anything runs, in one line', async () => {
    const run = await chaosctl([
      'memory-stress',
      '--service',
      'inventory-service',
      '--size',
      '64MB',
      '--share',
      '0.5',
      ...kube('kubernetes'),
    ]);
    expect(run).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'chaosctl: memory-stress inventory-service: give a size or a share, not both\n',
    });
  });

  it.each([
    [['--size', 'lots'], /^chaosctl: --size must be a size such as 256MB or 512Mi \(got 'lots'\)\n$/],
    [['--share', '2'], /^chaosctl: --share must be <= 1 \(got 2\)\n$/],
    [['--share', '0.5'], /^chaosctl: --share and --container need the kubernetes driver/],
  ])('refuses %j in one line before anything runs', async (flags, message) => {
    const run = await chaosctl([
      'memory-stress',
      '--service',
      'inventory-service',
      ...flags,
      '--driver',
      'local',
      '--state-dir',
      stateDir,
      '--report-dir',
      join(work, 'refused'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

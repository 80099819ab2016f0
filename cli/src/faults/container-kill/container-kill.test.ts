// container-kill end to end: the built chaosctl against the local platform (a replica's process
// dies and is restarted in its slot) and against the Kubernetes double (the container restarts in
// place: restartCount up, same pod and IP), natively and through Chaos Mesh.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { localUp, runChaosctl, testTraffic, validateReport } from '../../../test/harness.js';
import { ContainerModel, installPlatform, startCluster } from '../../../test/kube-platform.js';

const work = mkdtempSync(join(tmpdir(), 'chaosctl-container-kill-'));
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

function reportOf(run: { code: number; stdout: string; stderr: string }) {
  expect({ code: run.code, said: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, said: '' });
  const report = JSON.parse(run.stdout);
  expect(validateReport(report)).toBe(true);
  const [result] = report.experiments;
  expect(result.type).toBe('container-kill');
  expect(result.status).toBe('pass');
  expect(result.fault.verified).toBe(true);
  // Recovery of a disruption: the old incarnation ended and capacity came back, both measured.
  expect(result.recovery.terminatedMs).not.toBeNull();
  expect(result.recovery.capacityRestoredMs).not.toBeNull();
  expect(result.events.map((e: { event: string }) => e.event)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^capacity restored: 2\/2 available/)]),
  );
  return result;
}

describe('container-kill', () => {
  it('locally kills a replica process, which restarts in its slot on the same port', async () => {
    const run = await chaosctl([
      'container-kill',
      '--service',
      'inventory-service',
      '--seed',
      '3',
      '--driver',
      'local',
      '--state-dir',
      stateDir,
      '--json',
      '--retries',
      '2',
      ...testTraffic(join(work, 'local')),
    ]);
    const result = reportOf(run);
    expect(result.backend).toBe('local');
    expect(result.fault.evidence).toMatch(
      /^inventory-service-\d restarted in place on port \d+ \(pid \d+ -> \d+, restarts \d+ -> \d+\)$/,
    );
  }, 120_000);

  it.each(['kubernetes', 'chaos-mesh'])(
    'on Kubernetes (%s) restarts the container in place: restartCount up, same pod and IP',
    async (backend) => {
      const before = (await cluster.core.listNamespacedPod({ namespace: 'shop' })).items.map(
        (p) => p.metadata?.uid,
      );
      const run = await chaosctl([
        'container-kill',
        '--service',
        'inventory-service',
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
      ]);
      const result = reportOf(run);
      expect(result.backend).toBe(backend);
      expect(result.fault.evidence).toMatch(
        /^restarted in place: inventory-service-\S+\/inventory-service restartCount (\d+) -> \d+ \(last: (Completed|Error)\), same pod, IP 10\.244\.\d+\.\d+$/,
      );
      // No pod was replaced: the same UIDs before and after.
      const after = (await cluster.core.listNamespacedPod({ namespace: 'shop' })).items.map(
        (p) => p.metadata?.uid,
      );
      expect(after.sort()).toEqual(before.sort());
    },
    120_000,
  );
});

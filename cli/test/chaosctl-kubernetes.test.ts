// chaosctl with the kubernetes driver, end to end: the real CLI against the Kubernetes API server
// double (kube-double/, behaving as the apiserver, controllers and kubelet do), with traffic and
// the integrity check going through --url to the real services of a local platform. Each test
// names the problem of the old driver it proves fixed (issues 8 and 9).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { Backend } from '../src/backends/backend.js';
import { loadCluster } from '../src/drivers/kubernetes/cluster.js';
import { KubeClient } from '../src/drivers/kubernetes/kube-client.js';
import { KubernetesDriver } from '../src/drivers/kubernetes/kubernetes-driver.js';
import { freePort } from '../src/drivers/local/supervisor.js';
import { cli, freeBasePort, repoRoot, runChaosctl, testTraffic, validateReport } from './harness.js';
import { CHAOSCTL_USER, ContainerModel, installPlatform, startCluster, until } from './kube-platform.js';

const work = mkdtempSync(join(tmpdir(), 'chaosctl-kube-'));
const stateDir = join(work, 'state');
let base = 0;
let cluster: Awaited<ReturnType<typeof startCluster>>;
let model: ContainerModel;

const chaosctl = (args: string[], env: Record<string, string> = {}) =>
  runChaosctl(args, { cwd: work, timeoutMs: 120_000, env: { HOME: work, ...env } });

const kube = (reportDir: string, namespace = 'shop') => [
  '--driver',
  'kubernetes',
  '--kubeconfig',
  cluster.kubeconfig,
  '--namespace',
  namespace,
  '--url',
  `http://127.0.0.1:${base}`,
  `inventory-service=http://127.0.0.1:${base + 1}`,
  ...testTraffic(join(work, reportDir)),
];

/** A short network-delay, for the tests about what happens around it rather than the delay itself. */
const shortDelay = (service = 'inventory-service') => [
  'network-delay',
  '--service',
  service,
  '--latency',
  '100ms',
  '--duration',
  '2s',
];

/** Exit code and what chaosctl said, so a failing assertion shows why. */
const outcome = (run: { code: number; stderr: string }) => ({
  code: run.code,
  said: run.code === 0 ? '' : run.stderr,
});
const ok = { code: 0, said: '' };

/** Starts chaosctl, presses Ctrl-C once `injected` holds, and resolves with its exit code. */
async function interruptOnce(args: string[], injected: () => boolean): Promise<number | null> {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, NO_COLOR: '1', HOME: work },
  });
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  try {
    await until(injected, 30_000);
  } finally {
    child.kill('SIGINT');
  }
  return exited;
}

const reportOf = (run: { stdout: string }) => {
  const report = JSON.parse(run.stdout);
  expect(validateReport(report)).toBe(true);
  return report;
};

beforeAll(async () => {
  base = await freeBasePort();
  const up = await runChaosctl(
    ['local', 'up', '--replicas', '1', '--base-port', String(base), '--state-dir', stateDir],
    { cwd: work },
  );
  expect(up.code).toBe(0);
  cluster = await startCluster();
  model = new ContainerModel(cluster.kube, cluster.custom);
  await installPlatform(cluster);
}, 60_000);

afterAll(async () => {
  await runChaosctl(['local', 'down', '--state-dir', stateDir], { cwd: work });
  await cluster?.close();
  rmSync(work, { recursive: true, force: true });
}, 30_000);

describe('pod-kill on Kubernetes', () => {
  it('reports capacity restored when the successor is Ready, not when the old pod finally terminates', async () => {
    // Upstream: the old pod drains for 6 s (Terminating) while its ReplicaSet's successor starts at once.
    cluster.kube.setBehaviour('shop', 'order-service', {
      startMs: 700,
      readyMs: 800,
      notReadyAfterMs: 0,
      exitAfterMs: 6000,
    });
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--seed',
      '7',
      '--json',
      ...kube('terminating'),
    ]);
    expect(run.stderr).toMatch(
      /acting on cluster \S+ \(http:\/\/127\.0\.0\.1:\d+\), context kind-chaos, namespace shop/,
    );
    expect(outcome(run)).toEqual(ok);
    const [result] = reportOf(run).experiments;
    expect(result.backend).toBe('kubernetes');
    expect(result.recovery.capacityRestoredMs).toBeGreaterThanOrEqual(1200);
    expect(result.recovery.capacityRestoredMs).toBeLessThan(3500);
    expect(result.recovery.terminatedMs).toBeGreaterThanOrEqual(5500);
    expect(result.recovery.totalMs).toBe(
      Math.max(result.recovery.capacityRestoredMs, result.recovery.userFacingMs),
    );
    // The victim was deleted by its UID (a precondition), as the report says.
    expect(result.fault.summary).toMatch(/^deleted order-service-\S+ \(seed 7\)$/);
    expect(cluster.kube.requests.some((r) => r.verb === 'delete' && r.resource === 'pods')).toBe(true);
    cluster.kube.setBehaviour('shop', 'order-service', {});
  }, 90_000);

  it('counts a StatefulSet pod replaced under the same name (a new UID) and chooses victims by seed', async () => {
    await cluster.apps.createNamespacedStatefulSet({
      namespace: 'shop',
      body: {
        metadata: { name: 'ledger' },
        spec: {
          replicas: 2,
          serviceName: 'ledger',
          selector: { matchLabels: { app: 'ledger' } },
          template: {
            metadata: { labels: { app: 'ledger' } },
            spec: {
              containers: [
                { name: 'ledger', image: 'ledger:1', readinessProbe: { exec: { command: ['true'] } } },
              ],
            },
          },
        },
      },
    });
    await until(
      async () =>
        (await cluster.apps.readNamespacedStatefulSet({ namespace: 'shop', name: 'ledger' })).status
          ?.availableReplicas === 2,
      10_000,
    );
    const before = (await cluster.core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=ledger' }))
      .items;
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'ledger',
      '--selector',
      'app in (ledger)',
      '--workload',
      'statefulset/ledger',
      '--seed',
      '42',
      '--allow-outage',
      '--json',
      ...kube('statefulset'),
    ]);
    expect(outcome(run)).toEqual(ok);
    const [result] = reportOf(run).experiments;
    const victim = /deleted (ledger-\d)/.exec(result.fault.summary)?.[1];
    expect(victim).toBeDefined();
    const after = (await cluster.core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=ledger' }))
      .items;
    const oldUid = before.find((p) => p.metadata?.name === victim)?.metadata?.uid;
    const successor = after.find((p) => p.metadata?.name === victim);
    expect(successor?.metadata?.uid).toBeDefined();
    expect(successor?.metadata?.uid).not.toBe(oldUid);
    // A StatefulSet waits for the old pod to be gone: capacity comes back after termination.
    expect(result.recovery.capacityRestoredMs).toBeGreaterThanOrEqual(result.recovery.terminatedMs);
    // The same seed picks the same victim again.
    const again = await chaosctl([
      'pod-kill',
      '--service',
      'ledger',
      '--selector',
      'app=ledger',
      '--seed',
      '42',
      '--dry-run',
      ...kube('statefulset-dry'),
    ]);
    expect(again.stdout).toMatch(/seed 42/);
  }, 90_000);

  it('evicts through the Eviction API and reports a PodDisruptionBudget refusal instead of retrying', async () => {
    // A budget that allows no disruption at all (minAvailable = replicas).
    await cluster.policy.deleteNamespacedPodDisruptionBudget({
      namespace: 'shop',
      name: 'inventory-service',
    });
    await cluster.policy.createNamespacedPodDisruptionBudget({
      namespace: 'shop',
      body: {
        metadata: { name: 'inventory-service' },
        spec: {
          minAvailable: 2,
          selector: { matchLabels: { 'app.kubernetes.io/name': 'inventory-service' } },
        },
      },
    });
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'inventory-service',
      '--mode',
      'evict',
      '--json',
      ...kube('evict-refused'),
    ]);
    expect(run.code).toBe(1);
    const [result] = reportOf(run).experiments;
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/eviction of pod inventory-service-\S+ refused by its PodDisruptionBudget/);
    expect(result.warnings.join('\n')).toMatch(/allows 0 disruption\(s\) now/);
    expect(cluster.kube.requests.filter((r) => r.subresource === 'eviction')).toHaveLength(1);
  }, 90_000);

  it('ignores Failed (Evicted) pods that linger until garbage collection', async () => {
    await cluster.core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: {
          name: 'notification-service-evicted',
          labels: { 'app.kubernetes.io/name': 'notification-service' },
        },
        spec: {
          containers: [
            { name: 'notification-service', image: 'x', readinessProbe: { exec: { command: ['true'] } } },
          ],
        },
      },
    });
    cluster.kube.setPodPhase('shop', 'notification-service-evicted', {
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
    });
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'notification-service',
      '--json',
      ...kube('evicted'),
    ]);
    expect(outcome(run)).toEqual(ok);
  }, 90_000);
});

describe('pod-kill options', () => {
  it('crashes a pod with --grace-period 0: gone at once, however long its drain would take', async () => {
    cluster.kube.setBehaviour('shop', 'inventory-service', { exitAfterMs: 8000 });
    try {
      const run = await chaosctl([
        'pod-kill',
        '--service',
        'inventory-service',
        '--grace-period',
        '0',
        '--json',
        ...kube('crash'),
      ]);
      expect(outcome(run)).toEqual(ok);
      const [result] = reportOf(run).experiments;
      expect(result.parameters).toMatchObject({ gracePeriodSeconds: 0, mode: 'delete' });
      expect(result.recovery.terminatedMs).toBeLessThan(2000);
    } finally {
      cluster.kube.setBehaviour('shop', 'inventory-service', {});
    }
  }, 60_000);

  it('deletes by UID: a same-name successor is never hit (409 from the API server)', async () => {
    const client = new KubeClient(loadCluster({ kubeconfig: cluster.kubeconfig, namespace: 'shop' }));
    const [pod] = (
      await cluster.core.listNamespacedPod({
        namespace: 'shop',
        labelSelector: 'app.kubernetes.io/name=order-service',
      })
    ).items;
    const refused = await client
      .deletePod(pod?.metadata?.name ?? '', 'an-earlier-incarnation')
      .catch((e: Error) => e);
    expect(refused).toMatchObject({ status: 409 });
    expect((refused as Error).message).toMatch(
      /the UID in the precondition \(an-earlier-incarnation\) does not match the UID in record/,
    );
    const still = await cluster.core.readNamespacedPod({
      namespace: 'shop',
      name: pod?.metadata?.name ?? '',
    });
    expect(still.metadata?.deletionTimestamp).toBeUndefined();
  });
});

describe('which cluster, and when it cannot be used', () => {
  it.each([
    ['no kubeconfig at all', [] as string[], {}, 2, /no kubeconfig: set KUBECONFIG, pass --kubeconfig/],
    [
      'a missing kubeconfig file',
      ['--kubeconfig', '/nonexistent/kubeconfig'],
      {},
      2,
      /cannot read kubeconfig \/nonexistent\/kubeconfig: ENOENT/,
    ],
    ['a kubeconfig that is not one', ['--kubeconfig', 'GARBAGE'], {}, 2, /is not a valid kubeconfig/],
    [
      'an unknown context',
      ['--kubeconfig', 'KUBECONFIG', '--context', 'staging'],
      {},
      2,
      /no context 'staging' in the kubeconfig \(it has: kind-chaos, prod\)/,
    ],
  ])('%s: one line, the documented exit code, no report folder', async (_name, args, env, code, message) => {
    const garbage = join(work, 'garbage.yaml');
    writeFileSync(garbage, 'apiVersion: v1\nclusters: [ {\n');
    const reports = join(work, `never-${code}-${Math.random()}`);
    const argv = args.map((a) => (a === 'GARBAGE' ? garbage : a === 'KUBECONFIG' ? cluster.kubeconfig : a));
    const run = await chaosctl(
      ['pod-kill', '--service', 'order-service', '--driver', 'kubernetes', ...argv, '--report-dir', reports],
      env,
    );
    expect(run.code).toBe(code);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(existsSync(reports)).toBe(false);
  });

  it('exits 3 for an API server that cannot be reached, before any fault', async () => {
    const dead = join(work, 'dead-kubeconfig');
    const closed = await freePort();
    writeFileSync(
      dead,
      readFileSync(cluster.kubeconfig, 'utf8').replace(/127\.0\.0\.1:\d+/g, `127.0.0.1:${closed}`),
    );
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--driver',
      'kubernetes',
      '--kubeconfig',
      dead,
      '--report-dir',
      join(work, 'dead'),
    ]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot reach the API server of cluster .* ECONNREFUSED/);
    expect(existsSync(join(work, 'dead'))).toBe(false);
  });

  it('turns a 403 on the watch into one line with exit 2 before any experiment, never a frozen pod list', async () => {
    cluster.kube.forbid({ verb: 'watch', group: '', resource: 'pods' });
    try {
      const run = await chaosctl(['pod-kill', '--service', 'order-service', ...kube('forbidden')]);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(
        /cannot watch pods \(app\.kubernetes\.io\/name=\S+\) in shop: forbidden; grant it with the chart's chaosctl Role/,
      );
      expect(existsSync(join(work, 'forbidden'))).toBe(false);
    } finally {
      cluster.kube.allowAll();
    }
  }, 60_000);

  it('acts on the context it is given, and says so', async () => {
    const run = await chaosctl([
      'pod-kill',
      '--service',
      'order-service',
      '--context',
      'prod',
      '--dry-run',
      ...kube('context'),
    ]);
    expect(outcome(run)).toEqual(ok);
    expect(run.stdout).toMatch(/context prod, namespace shop/);
  });
});

describe('watches that expire', () => {
  it('sees a kill after 35 s without pod events (client inactivity timeout) and survives a 410 mid-experiment', async () => {
    const suite = join(work, 'quiet-suite.yaml');
    writeFileSync(
      suite,
      [
        'version: 1',
        'rps: 10',
        'warmup: 1s',
        'cooldown: 3s',
        'experiments:',
        // The watch on notification-service's pods starts with the first steady-state check and
        // sees no event while these run for more than 35 s.
        '  - { type: cpu-stress, service: order-service, duration: 17s, thresholds: { maxP95: 10s } }',
        '  - { type: cpu-stress, service: order-service, duration: 17s, thresholds: { maxP95: 10s } }',
        '  - { type: pod-kill, service: notification-service, thresholds: { maxP95: 10s } }',
      ].join('\n'),
    );
    cluster.kube.setBehaviour('shop', 'notification-service', {
      startMs: 1000,
      readyMs: 1000,
      exitAfterMs: 1500,
    });
    const deletes = () =>
      cluster.kube.requests.filter((r) => r.verb === 'delete' && r.resource === 'pods').length;
    const deletesBefore = deletes();
    let expired = false;
    const expire = setInterval(() => {
      // A 410 Gone (compacted history, ERROR event on the open watches) while the killed pod's
      // successor is starting: the informer must re-list and still see the recovery.
      if (!expired && deletes() > deletesBefore) {
        expired = true;
        setTimeout(() => cluster.kube.expireHistory({ notifyOpenWatches: true }), 300);
      }
    }, 100);
    try {
      // The suite sets its own rate and thresholds.
      const flags = kube('quiet');
      flags.splice(flags.indexOf('--rps'), 2);
      flags.splice(flags.indexOf('--max-p95'), 2);
      const run = await chaosctl(['run-all', '--suite', suite, ...flags, '--json']);
      expect(outcome(run)).toEqual(ok);
      const report = reportOf(run);
      expect(report.experiments.map((e: { status: string }) => e.status)).toEqual(['pass', 'pass', 'pass']);
      expect(expired).toBe(true);
      expect(report.experiments[2].recovery.capacityRestoredMs).toBeGreaterThan(1500);
    } finally {
      clearInterval(expire);
      cluster.kube.setBehaviour('shop', 'notification-service', {});
    }
  }, 150_000);
});

describe('network-delay and cpu-stress, native backend', () => {
  const agents = (pod: string) =>
    cluster.core
      .readNamespacedPod({ namespace: 'shop', name: pod })
      .then((p) => p.spec?.ephemeralContainers ?? []);

  it('refuses before any traffic in a namespace that enforces Pod Security baseline', async () => {
    await installPlatform(cluster, 'hardened', { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const run = await chaosctl([...shortDelay(), '--json', ...kube('psa', 'hardened')]);
    expect(run.code).toBe(1);
    const [result] = reportOf(run).experiments;
    expect(result.error).toMatch(
      /namespace hardened enforces Pod Security "baseline".*label it privileged.*or install Chaos Mesh/,
    );
    expect(result.traffic.before.requests).toBe(0);
    const pods = (await cluster.core.listNamespacedPod({ namespace: 'hardened' })).items;
    expect(pods.every((p) => (p.spec?.ephemeralContainers ?? []).length === 0)).toBe(true);
  }, 60_000);

  it('skips before any traffic when the node kernel lacks sch_netem, saying so in the report and JUnit', async () => {
    model.kernelHasNetem = false;
    try {
      const run = await chaosctl([...shortDelay(), '--json', ...kube('no-netem')]);
      expect(run.code).toBe(1);
      const report = reportOf(run);
      expect(report.verdict).toBe('error');
      const [result] = report.experiments;
      expect(result.status).toBe('skipped');
      expect(result.error).toMatch(
        /^the kernel of node \S+ lacks sch_netem \(tc in \S+: "Error: Specified qdisc kind is unknown\."\)/,
      );
      expect(result.traffic.before.requests).toBe(0);
      expect(result.fault.injectedAt).toBeNull();
      expect(model.execs.some((e) => (e.argv[2] ?? '').includes('tc qdisc replace'))).toBe(false);
      const junit = readFileSync(join(work, 'no-netem', 'chaos-junit.xml'), 'utf8');
      expect(junit).toMatch(/skipped="1"/);
      expect(junit).toMatch(/<skipped message="the kernel of node \S+ lacks sch_netem/);
    } finally {
      model.kernelHasNetem = true;
    }
  }, 60_000);

  it('delays only the callers through one root agent per pod, proves it from the qdisc counters, and removes it', async () => {
    const run = await chaosctl([
      'network-delay',
      '--service',
      'inventory-service',
      '--latency',
      '200ms',
      '--jitter',
      '20ms',
      '--duration',
      '3s',
      '--json',
      ...kube('delay'),
    ]);
    expect(outcome(run)).toEqual(ok);
    const [result] = reportOf(run).experiments;
    expect(result.fault).toMatchObject({
      verified: true,
      evidence: expect.stringMatching(/netem on 2 pod\(s\) delayed \d+ packets in 1 s/),
    });
    const inventoryPods = (
      await cluster.core.listNamespacedPod({
        namespace: 'shop',
        labelSelector: 'app.kubernetes.io/name=inventory-service',
      })
    ).items;
    const orderIps = (
      await cluster.core.listNamespacedPod({
        namespace: 'shop',
        labelSelector: 'app.kubernetes.io/name=order-service',
      })
    ).items.map((p) => p.status?.podIP);
    for (const pod of inventoryPods) {
      const [agent, ...more] = await agents(pod.metadata?.name ?? '');
      expect(more).toEqual([]);
      // Root with NET_ADMIN only: a non-root user's added capabilities are not effective.
      expect(agent?.securityContext).toMatchObject({
        runAsUser: 0,
        runAsNonRoot: false,
        capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      });
      expect(model.qdiscs.has(pod.metadata?.name ?? '')).toBe(false);
    }
    const replaced = model.execs.find((e) => (e.argv[2] ?? '').includes('tc qdisc replace'));
    expect(replaced?.argv[2]).toContain('netem delay 200ms 20ms');
    for (const ip of orderIps) expect(replaced?.argv[2]).toContain(`match ip dst ${ip}/32`);

    // A second experiment reuses the running agents: ephemeral containers do not pile up.
    const again = await chaosctl([...shortDelay(), ...kube('delay-again')]);
    expect(outcome(again)).toEqual(ok);
    for (const pod of inventoryPods) expect(await agents(pod.metadata?.name ?? '')).toHaveLength(1);
  }, 90_000);

  it('refuses a delay in front of order-service from outside the cluster: its callers come through --url', async () => {
    const run = await chaosctl([...shortDelay('order-service'), '--json', ...kube('order-delay')]);
    expect(run.code).toBe(1);
    expect(reportOf(run).experiments[0].error).toMatch(/no caller of order-service runs in the cluster/);
  }, 60_000);

  it('burns CPU inside the target container (its own cgroup and limit), judged by throttling, and stops the burners', async () => {
    const run = await chaosctl([
      'cpu-stress',
      '--service',
      'order-service',
      '--workers',
      '2',
      '--duration',
      '3s',
      '--json',
      ...kube('cpu'),
    ]);
    expect(outcome(run)).toEqual(ok);
    const [result] = reportOf(run).experiments;
    expect(result.fault).toMatchObject({
      verified: true,
      evidence: expect.stringMatching(/order-service-\S+: used \d+% of its CPU limit, throttled \d+%/),
    });
    const burns = model.execs.filter((e) => (e.argv[2] ?? '').includes('timeout 3'));
    expect(burns.length).toBe(2);
    expect(burns.every((b) => b.container === 'order-service')).toBe(true);
    for (const pod of new Set(burns.map((b) => b.pod))) expect(model.burning(pod)).toBe(0);
  }, 60_000);

  it('reports an agent that dies with its exit code and message, instead of waiting', async () => {
    await installPlatform(cluster, 'agentless');
    cluster.kube.onEphemeralContainer(
      (pod) => pod.metadata?.namespace === 'agentless',
      async () => ({
        exitCode: 127,
        reason: 'StartError',
        message: 'exec: "sh": executable file not found in $PATH',
      }),
    );
    const run = await chaosctl([...shortDelay(), '--json', ...kube('agent-dies', 'agentless')]);
    expect(run.code).toBe(1);
    expect(reportOf(run).experiments[0].error).toMatch(
      /the network-delay agent in inventory-service-\S+ exited with 127: exec: "sh": executable file not found/,
    );
  }, 60_000);

  it('says when the burners cannot run in the target image, instead of judging an idle container', async () => {
    // An image without coreutils' timeout, as sh reports it: the background jobs fail, `wait` returns 0.
    await installPlatform(cluster, 'no-coreutils');
    cluster.kube.onExec({
      namespace: 'no-coreutils',
      run: (ctx) => {
        const script = ctx.argv.join(' ');
        if (script.includes('cat /sys/fs/cgroup/cpu.stat')) {
          ctx.stdout('usage_usec 1000\nnr_throttled 0\nthrottled_usec 0\n---\n');
          return 0;
        }
        if (script.includes('timeout')) ctx.stderr('sh: 1: timeout: not found\n');
        return 0;
      },
    });
    const run = await chaosctl([
      'cpu-stress',
      '--service',
      'order-service',
      '--duration',
      '3s',
      '--json',
      ...kube('cpu-no-timeout', 'no-coreutils'),
    ]);
    expect(run.code).toBe(1);
    expect(reportOf(run).experiments[0].error).toMatch(
      /the burners could not run in order-service-\S+\/order-service \(exit 0: sh: 1: timeout: not found\)/,
    );
  }, 60_000);

  it('stops the burners on Ctrl-C', async () => {
    const pods = (
      await cluster.core.listNamespacedPod({
        namespace: 'shop',
        labelSelector: 'app.kubernetes.io/name=order-service',
      })
    ).items.map((p) => p.metadata?.name ?? '');
    const code = await interruptOnce(
      ['cpu-stress', '--service', 'order-service', '--duration', '60s', ...kube('cpu-interrupted')],
      () => pods.some((pod) => model.burning(pod) > 0),
    );
    expect(code).toBe(130);
    for (const pod of pods) expect(model.burning(pod)).toBe(0);
  }, 60_000);

  it('takes the delay back on Ctrl-C', async () => {
    const code = await interruptOnce(
      [
        'network-delay',
        '--service',
        'inventory-service',
        '--latency',
        '300ms',
        '--duration',
        '60s',
        ...kube('interrupted'),
      ],
      () => model.qdiscs.size > 0,
    );
    expect(code).toBe(130);
    expect(model.qdiscs.size).toBe(0);
  }, 60_000);
});

describe('the Chaos Mesh backend', () => {
  it('is chosen when the CRDs are served; a StressChaos lands in the target container, is deleted and recovered', async () => {
    cluster.kube.installChaosMesh({ injectDelayMs: 300, recoverDelayMs: 300 });
    const run = await chaosctl([
      'cpu-stress',
      '--service',
      'order-service',
      '--duration',
      '3s',
      '--json',
      ...kube('mesh-cpu'),
    ]);
    expect(run.stderr).toMatch(/faults through the chaos-mesh backend/);
    expect(outcome(run)).toEqual(ok);
    const [result] = reportOf(run).experiments;
    expect(result.backend).toBe('chaos-mesh');
    expect(result.fault.summary).toMatch(/^StressChaos chaosctl-[0-9a-f]+ injected/);
    expect(
      cluster.kube.requests.some(
        (r) => r.apiGroup === 'chaos-mesh.org' && r.resource === 'stresschaos' && r.verb === 'delete',
      ),
    ).toBe(true);
    // Recovered and gone: Chaos Mesh removed its finalizer after recovering every record.
    await expect(
      cluster.kube.requests.filter((r) => r.resource === 'stresschaos' && r.verb === 'create').length,
    ).toBeGreaterThanOrEqual(2); // the server-side dry run, then the real create
  }, 60_000);

  it('kills a container in place through a PodChaos container-kill, deleted afterwards', async () => {
    const run = await chaosctl([
      'container-kill',
      '--service',
      'inventory-service',
      '--json',
      ...kube('mesh-container-kill'),
    ]);
    expect(outcome(run)).toEqual(ok);
    const [result] = reportOf(run).experiments;
    expect(result.backend).toBe('chaos-mesh');
    expect(
      cluster.kube.requests.some(
        (r) => r.apiGroup === 'chaos-mesh.org' && r.resource === 'podchaos' && r.verb === 'delete',
      ),
    ).toBe(true);
  }, 60_000);

  it("verifies a NetworkChaos from outside the cluster by the suite's own requests through its callers", async () => {
    // The double's Chaos Mesh reports the object injected but delays nothing: the suite's requests,
    // which reach inventory-service through order-service, are not slower, and the run says so.
    const run = await chaosctl([...shortDelay(), '--json', ...kube('mesh-delay')]);
    expect(run.code).toBe(1);
    expect(reportOf(run).experiments[0].error).toMatch(
      /^the fault did not take effect: the suite's requests answered -?\d+ ms slower \(median of \d+, through order-service; 100 ms injected\)$/,
    );
  }, 60_000);
});

describe('the Chaos Mesh backend inside the cluster', () => {
  it('scopes a NetworkChaos to the callers, waits for AllInjected, and still checks the effect itself', async () => {
    // As the chart's chaos-suite pod runs it: in-cluster, so its own pod is a caller too.
    const config = { ...loadCluster({ kubeconfig: cluster.kubeconfig, namespace: 'shop' }), inCluster: true };
    const driver = new KubernetesDriver(new KubeClient(config));
    await driver.connect([
      { service: 'inventory-service', url: `http://127.0.0.1:${base + 1}` },
      { service: 'notification-service' },
    ]);
    const injection = await new Backend('chaos-mesh', driver).injection({
      type: 'network-delay',
      service: 'inventory-service',
      latency: '300ms',
      duration: '10s',
      callers: ['order-service'],
    });
    try {
      // In the cluster a service is reached through its Service's port, by its short name: no
      // cluster domain is assumed.
      expect(await driver.url({ service: 'notification-service' })).toBe(
        'http://notification-service.shop.svc:5000',
      );
      expect(await injection.preflight()).toEqual([]);
      const injected = await injection.inject();
      expect(injected.summary).toMatch(
        /^NetworkChaos chaosctl-[0-9a-f]+ injected \(Selected=True, AllInjected=True/,
      );
      const name = /NetworkChaos (chaosctl-[0-9a-f]+)/.exec(injected.summary)?.[1] ?? '';
      const chaos = (await cluster.custom.getNamespacedCustomObject({
        group: 'chaos-mesh.org',
        version: 'v1alpha1',
        namespace: 'shop',
        plural: 'networkchaos',
        name,
      })) as { spec: Record<string, unknown> };
      expect(chaos.spec).toMatchObject({
        action: 'delay',
        direction: 'to',
        selector: { namespaces: ['shop'], labelSelectors: { 'app.kubernetes.io/name': 'inventory-service' } },
        target: {
          mode: 'all',
          selector: {
            expressionSelectors: [
              { key: 'app.kubernetes.io/name', operator: 'In', values: ['order-service', 'chaosctl'] },
            ],
          },
        },
        delay: { latency: '300ms' },
      });
      // Chaos Mesh's word is not proof: the double delays nothing, and the probe says so.
      const verification = await injection.verify();
      expect(verification.landed).toBe(false);
      expect(verification.evidence).toMatch(/answered -?\d+ ms slower \(300 ms injected\)/);
      await injection.remove();
      await expect(
        cluster.custom.getNamespacedCustomObject({
          group: 'chaos-mesh.org',
          version: 'v1alpha1',
          namespace: 'shop',
          plural: 'networkchaos',
          name,
        }),
      ).rejects.toMatchObject({ code: 404 });
    } finally {
      await injection.remove().catch(() => {});
      driver.close();
    }
  }, 60_000);
});

describe("the chart's chaosctl Roles", () => {
  const rulesOf = (file: string) =>
    parseAllDocuments(readFileSync(join(repoRoot, 'charts/chaos-platform/files', file), 'utf8'))
      .map(
        (d) =>
          d.toJS() as {
            kind: string;
            rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
          },
      )
      .filter((o) => o.kind === 'Role')
      .flatMap((o) => o.rules ?? [])
      .flatMap((r) =>
        r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}|${res}|${v}`))),
      );

  it('grant exactly what chaosctl called in the runs above, as the API server authorised each request', () => {
    const called = new Set(
      cluster.kube.requests
        .filter((r) => r.user === CHAOSCTL_USER && r.resource)
        .map((r) => `${r.apiGroup}|${r.resource}${r.subresource ? `/${r.subresource}` : ''}|${r.verb}`),
    );
    const granted = [...rulesOf('chaosctl-rbac.yaml'), ...rulesOf('chaosctl-rbac-chaos-mesh.yaml')];
    expect([...called].sort()).toEqual([...new Set(granted)].sort());
    expect(granted.some((g) => g.includes('*'))).toBe(false);
  });
});

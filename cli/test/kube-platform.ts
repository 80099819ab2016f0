// The platform as a Kubernetes cluster shows it, on the API server double (kube-double/): the three
// services as Deployments with Services and PodDisruptionBudgets, created through client-node as
// `helm install` would, and a model of what runs in their containers for exec: iproute2's `tc`
// (its `-s qdisc show` output format) in the pod's network namespace, the cgroup v2 cpu.stat of a
// container with a CPU limit (throttled while busy-loops run in it), its cgroup v2 memory files
// (memory held by a `node` holder or a StressChaos memory stressor counts; past the 512Mi limit the
// kernel OOM-kills in the cgroup: oom_kill counted, the container restarted with reason OOMKilled),
// and `sh`/`timeout`/`kill`, `kill 1` ending the container's main process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PolicyV1Api,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { ExperimentResult } from '../src/experiments/result.js';
import { localUp, runChaosctl, testTraffic, validateReport } from './harness.js';
import { waitFor } from './kube-double/fixtures.js';
import { type ExecContext, KubeDouble, type KubeDoubleOptions } from './kube-double/index.js';

const SERVICES = ['order-service', 'inventory-service', 'notification-service'] as const;
const MEMORY_LIMIT = 512 * 2 ** 20;
const BASE_MEMORY = 80 * 2 ** 20;

export const CHAOSCTL_USER = 'system:serviceaccount:shop:chaosctl';

export async function startCluster(options?: KubeDoubleOptions) {
  const kube = await new KubeDouble(options).start();
  const dir = mkdtempSync(join(tmpdir(), 'kube-platform-'));
  const kubeconfig = kube.writeKubeconfig(join(dir, 'kubeconfig'), [
    { context: 'kind-chaos', namespace: 'shop', user: CHAOSCTL_USER },
    { context: 'prod', namespace: 'shop', user: CHAOSCTL_USER },
  ]);
  // The test's own calls (installing the platform, reading state) go as an admin, so that the
  // requests made as chaosctl's ServiceAccount are only chaosctl's.
  const config = new KubeConfig();
  config.loadFromFile(
    kube.writeKubeconfig(join(dir, 'admin-kubeconfig'), [
      { context: 'admin', namespace: 'shop', user: 'kubernetes-admin' },
    ]),
  );
  return {
    kube,
    kubeconfig,
    dir,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    policy: config.makeApiClient(PolicyV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    async close() {
      await kube.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Cluster = Awaited<ReturnType<typeof startCluster>>;

function deployment(name: string, replicas: number): V1Deployment {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsUser: 1000, runAsNonRoot: true },
          containers: [
            {
              name,
              image: `chaos-platform/${name}:test`,
              ports: [{ name: 'http', containerPort: 5000 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, timeoutSeconds: 1 },
              resources: { limits: { cpu: '500m', memory: '512Mi' } },
            },
          ],
        },
      },
    },
  };
}

/** The chart's objects for one namespace; resolves once every pod is Ready. */
export async function installPlatform(c: Cluster, namespace = 'shop', labels: Record<string, string> = {}) {
  await c.core.createNamespace({ body: { metadata: { name: namespace, labels } } });
  for (const name of SERVICES) {
    await c.apps.createNamespacedDeployment({ namespace, body: deployment(name, 2) });
    await c.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name },
        spec: {
          selector: { 'app.kubernetes.io/name': name },
          ports: [{ name: 'http', port: 5000, targetPort: 'http' }],
        },
      },
    });
    await c.policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: {
        metadata: { name },
        spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': name } } },
      },
    });
  }
  await until(async () => {
    const pods = (await c.core.listNamespacedPod({ namespace })).items;
    return (
      pods.length === 6 &&
      pods.every((p) => p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
    );
  }, 10_000);
}

/** Polls `check` every 25 ms until it holds (fixtures.ts waitFor); rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  await waitFor(async () => (await check()) || undefined, timeoutMs, 25);
}

/** What runs in the containers, per pod: tc's qdiscs, and busy-loops in a CPU-limited cgroup. */
export class ContainerModel {
  /** Root qdisc per pod name: the netem parameters and packets counted so far. */
  readonly qdiscs = new Map<string, { handle: string; netem: string; packets: number; filters: string[] }>();
  readonly execs: Array<{ pod: string; container: string; argv: string[] }> = [];
  /** Whether the node's kernel has sch_netem (the machines CI runs on have none). */
  kernelHasNetem = true;
  private readonly burners = new Map<string, Set<AbortController>>();
  private readonly cpu = new Map<string, { usage: number; throttled: number; at: number }>();
  /** Bytes held per pod by running `node` holders, and OOM kills counted in its cgroup. */
  private readonly memory = new Map<string, { holders: Map<AbortController, number>; oomKills: number }>();

  constructor(
    private readonly kube: KubeDouble,
    /** Reads Chaos Mesh objects: a StressChaos whose record for a pod is Injected runs stress-ng in its cgroup. */
    private readonly custom?: CustomObjectsApi,
  ) {
    kube.onExec({ run: (ctx) => this.run(ctx) });
  }

  /** Pods a StressChaos has stressors running in (its containerRecords ids are <namespace>/<pod>/<container>). */
  private async stressed(namespace: string, stressor = 'cpu'): Promise<Set<string>> {
    if (!this.custom) return new Set();
    const list = (await this.custom
      .listNamespacedCustomObject({
        group: 'chaos-mesh.org',
        version: 'v1alpha1',
        namespace,
        plural: 'stresschaos',
      })
      .catch(() => ({ items: [] }))) as {
      items?: Array<{
        spec?: { stressors?: Record<string, unknown> };
        status?: { experiment?: { containerRecords?: Array<{ id: string; phase: string }> } };
      }>;
    };
    return new Set(
      (list.items ?? [])
        .filter((c) => c.spec?.stressors?.[stressor])
        .flatMap((c) =>
          (c.status?.experiment?.containerRecords ?? [])
            .filter((r) => r.phase === 'Injected')
            .map((r) => r.id.split('/')[1] ?? ''),
        ),
    );
  }

  private async run(ctx: ExecContext): Promise<number> {
    const pod = String(ctx.pod.metadata?.name);
    this.execs.push({ pod, container: ctx.container, argv: ctx.argv });
    const script = ctx.argv[0] === 'sh' && ctx.argv[1] === '-c' ? (ctx.argv[2] ?? '') : ctx.argv.join(' ');
    if (/^tc -s qdisc show dev eth0$/.test(script)) return this.show(pod, ctx);
    if (script.includes('cat /sys/fs/cgroup/cpu.stat')) {
      const c = this.account(pod, (await this.stressed(ctx.namespace)).has(pod));
      ctx.stdout(
        `usage_usec ${c.usage}\nuser_usec ${c.usage}\nsystem_usec 0\nnr_periods 10\nnr_throttled ${c.throttled > 0 ? 5 : 0}\nthrottled_usec ${c.throttled}\n---\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=${c.throttled}\n`,
      );
      return 0;
    }
    if (script.includes("sh -c 'while :; do :; done'")) return this.burn(pod, script, ctx);
    if (script.includes('/tmp/chaosctl-cpu-')) {
      for (const b of this.burners.get(pod) ?? []) b.abort();
      return 0;
    }
    if (script.startsWith('touch ')) return 0;
    if (script.startsWith('tc qdisc add dev lo root handle 1a7d: netem')) {
      if (this.kernelHasNetem) return 0;
      // The kernel's extended ack from qdisc_create (net/sched/sch_api.c) when no qdisc ops match
      // the kind, which iproute2's tc prints as "Error: ..." and exits 2.
      ctx.stderr('Error: Specified qdisc kind is unknown.\n');
      return 2;
    }
    if (script === 'kill 1') {
      // The service handles SIGTERM: it drains and exits 0; the kubelet restarts the container.
      this.kube.containerExited(ctx.namespace, pod, ctx.container, 0, 'Completed');
      return 0;
    }
    if (script === 'command -v node && command -v timeout') {
      ctx.stdout('/usr/local/bin/node\n/usr/bin/timeout\n');
      return 0;
    }
    if (script.includes('memory.current')) {
      const usage = await this.memoryUsage(ctx.namespace, pod);
      ctx.stdout(`usage ${usage}\nlimit ${MEMORY_LIMIT}\noom_kill ${this.memoryOf(pod).oomKills}\n`);
      return 0;
    }
    if (script.includes("node -e '")) return this.hold(ctx, pod, script);
    if (script.includes('/tmp/chaosctl-mem-')) {
      for (const holder of this.memoryOf(pod).holders.keys()) holder.abort();
      return 0;
    }
    if (script.includes('tc qdisc del dev eth0 root handle 1a7e:')) {
      this.qdiscs.delete(pod);
      return 0;
    }
    if (script.includes('tc qdisc replace dev eth0 root handle 1a7e:')) return this.replace(pod, script);
    ctx.stderr(`sh: unknown command in the container model: ${script.slice(0, 80)}\n`);
    return 127;
  }

  private replace(pod: string, script: string): number {
    const netem = /netem (delay \S+(?: \S+)?)/.exec(script)?.[1] ?? '';
    const scoped = script.includes(' prio ');
    const filters = [...script.matchAll(/match ip dst (\S+)/g)].map((m) => m[1] as string);
    this.qdiscs.set(pod, { handle: scoped ? 'prio' : 'netem', netem, packets: 0, filters });
    return 0;
  }

  /** iproute2's `tc -s qdisc show` format; packets flow while the qdisc is in place. */
  private show(pod: string, ctx: ExecContext): number {
    const q = this.qdiscs.get(pod);
    if (!q) {
      ctx.stdout(
        'qdisc noqueue 0: root refcnt 2\n Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0)\n backlog 0b 0p requeues 0\n',
      );
      return 0;
    }
    q.packets += 40;
    const netemLine =
      q.handle === 'prio'
        ? `qdisc netem 1a7f: parent 1a7e:3 limit 1000 ${q.netem}`
        : `qdisc netem 1a7e: root refcnt 2 limit 1000 ${q.netem}`;
    const prio =
      q.handle === 'prio'
        ? 'qdisc prio 1a7e: root refcnt 2 bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n Sent 99999 bytes 900 pkt (dropped 0, overlimits 0 requeues 0)\n backlog 0b 0p requeues 0\n'
        : '';
    ctx.stdout(
      `${prio}${netemLine}\n Sent ${q.packets * 120} bytes ${q.packets} pkt (dropped 0, overlimits 0 requeues 0)\n backlog 0b 0p requeues 0\n`,
    );
    return 0;
  }

  /** cgroup accounting: with busy-loops over the 500m limit, the cgroup is throttled half the time. */
  private account(pod: string, stressed = false) {
    const now = Date.now();
    const c = this.cpu.get(pod) ?? { usage: 1_000_000, throttled: 0, at: now };
    const elapsedUs = (now - c.at) * 1000;
    const busy = stressed || (this.burners.get(pod)?.size ?? 0) > 0;
    c.usage += busy ? elapsedUs * 0.5 : elapsedUs * 0.02;
    if (busy) c.throttled += elapsedUs * 0.5;
    c.at = now;
    this.cpu.set(pod, c);
    return c;
  }

  private async burn(pod: string, script: string, _ctx: ExecContext): Promise<number> {
    const seconds = Number(/timeout (\d+)/.exec(script)?.[1] ?? 0);
    this.account(pod);
    const stop = new AbortController();
    const set = this.burners.get(pod) ?? new Set();
    set.add(stop);
    this.burners.set(pod, set);
    // Like a real process, a busy-loop outlives the exec stream that started it: only its
    // `timeout` or a kill ends it.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      timer.unref();
      stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.account(pod);
    set.delete(stop);
    return 0;
  }

  private memoryOf(pod: string) {
    const memory = this.memory.get(pod) ?? { holders: new Map(), oomKills: 0 };
    this.memory.set(pod, memory);
    return memory;
  }

  private async memoryUsage(namespace: string, pod: string): Promise<number> {
    // Simplification: a StressChaos memory stressor holds 256Mi, whatever its size says.
    const mesh = (await this.stressed(namespace, 'memory')).has(pod) ? 256 * 2 ** 20 : 0;
    return BASE_MEMORY + mesh + [...this.memoryOf(pod).holders.values()].reduce((a, b) => a + b, 0);
  }

  /** A `node` holder: its bytes count until its `timeout`, a kill, or an OOM kill past the limit. */
  private async hold(ctx: ExecContext, pod: string, script: string): Promise<number> {
    const [, seconds = '0', bytes = '0'] = /timeout (\d+) node -e '[^']*' (\d+)/.exec(script) ?? [];
    const memory = this.memoryOf(pod);
    const stop = new AbortController();
    memory.holders.set(stop, Number(bytes));
    if ((await this.memoryUsage(ctx.namespace, pod)) > MEMORY_LIMIT) {
      // The cgroup's OOM killer picks the largest process, the container's main one here.
      memory.holders.delete(stop);
      memory.oomKills += 1;
      this.kube.containerExited(ctx.namespace, pod, ctx.container, 137, 'OOMKilled');
      return 137;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Number(seconds) * 1000);
      timer.unref();
      stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    memory.holders.delete(stop);
    return 0;
  }

  burning(pod: string): number {
    return this.burners.get(pod)?.size ?? 0;
  }
}

/**
 * What a fault's end-to-end test runs against: the local platform (two replicas each; it also
 * serves the traffic of the Kubernetes runs, through --url) and the platform on the Kubernetes
 * double with Chaos Mesh installed. `chaosctl` runs the built CLI; `kube(backend)` are the flags
 * of a run on the double, JSON on stdout; `close()` stops everything.
 */
export async function startPlatforms(name: string) {
  const work = mkdtempSync(join(tmpdir(), `chaosctl-${name}-`));
  const stateDir = join(work, 'state');
  const { base } = await localUp(stateDir, work);
  const cluster = await startCluster();
  new ContainerModel(cluster.kube, cluster.custom);
  await installPlatform(cluster);
  cluster.kube.installChaosMesh({ injectDelayMs: 200, recoverDelayMs: 200 });
  const chaosctl = (args: string[]) =>
    runChaosctl(args, { cwd: work, timeoutMs: 120_000, env: { HOME: work } });
  return {
    work,
    cluster,
    chaosctl,
    local: (reportDir: string) => [
      '--driver',
      'local',
      '--state-dir',
      stateDir,
      '--json',
      ...testTraffic(join(work, reportDir)),
    ],
    kube: (backend: string) => [
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
    ],
    async close() {
      await runChaosctl(['local', 'down', '--state-dir', stateDir], { cwd: work });
      await cluster.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * The one experiment of a run's JSON report, after checking the report is valid and the run passed
 * (exit 0) or, with `mayFail`, at most failed a threshold (exit 1).
 */
export function experimentOf(
  run: { code: number; stdout: string; stderr: string },
  mayFail = false,
): ExperimentResult {
  if (run.code !== 0 && !(mayFail && run.code === 1))
    throw new Error(`chaosctl exited ${run.code}: ${run.stderr}`);
  const report: unknown = JSON.parse(run.stdout);
  if (!validateReport(report))
    throw new Error('the report does not match docs/schemas/chaosctl-report.schema.json');
  return (report as { experiments: ExperimentResult[] }).experiments[0] as ExperimentResult;
}

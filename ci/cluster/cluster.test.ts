// chaosctl on a real Kubernetes: the single-node cluster of ci/cluster/ (built from the Go module
// proxy, every component a plain process, the node in a network namespace of its own), the
// pipeline's own ci/*.sh steps against it (CI_CLUSTER=chaos-node), the chart's chaos suite in the
// cluster, and chaosctl's experiments from outside it. `npm run test:cluster` (root, Linux);
// not part of `npm test`. Figures go to stderr and to $CLUSTER_FIGURES (JSON) when set.
import { execFile, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const exec = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
// helm and kubectl at the pinned versions (ci/helm-tools.sh) for the ci/ scripts; the container
// engine as the environment sets it up (.ci/run sources .ci/podman-machine.sh on this machine).
let tools = '';
const env = (extra: Record<string, string> = {}) => ({
  ...process.env,
  PATH: `${tools}:${process.env.PATH}`,
  CI_CLUSTER: 'chaos-node',
  ...extra,
});
const tag = process.env.IMAGE_TAG ?? 'test';
const namespace = `chaos-test-${process.pid}`;
const reports = mkdtempSync(join(tmpdir(), 'cluster-reports-'));
const figures: Record<string, unknown> = {};
const figure = (name: string, value: unknown) => {
  figures[name] = value;
  process.stderr.write(`cluster figure: ${name} = ${JSON.stringify(value)}\n`);
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (bounded by `timeoutMs`), never throwing on a non-zero exit. */
async function run(cmd: string, args: string[], timeoutMs: number, extraEnv = {}): Promise<Result> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await exec(cmd, args, {
      cwd: root,
      env: env(extraEnv),
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? String(error),
      ms: Date.now() - started,
    };
  }
}

const ok = (r: Result) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  return r;
};

let kubeconfig = '';
let kubectl = '';
const kube = (...args: string[]) => run(kubectl, ['--kubeconfig', kubeconfig, ...args], 60_000);
const kubeJson = async (...args: string[]) => JSON.parse(ok(await kube(...args, '-o', 'json')).stdout);

/** chaosctl from the host, through the Services' cluster IPs (routed into the node's namespace). */
let urls: string[] = [];
const chaosctl = (args: string[], timeoutMs = 300_000) =>
  run(
    process.execPath,
    [
      'cli/bundle/cli.js',
      ...args,
      '--driver=kubernetes',
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${namespace}`,
      '--netem-image=chaos-platform/netem:bookworm',
      ...urls.flatMap((u) => ['--url', u]),
      '--json',
    ],
    timeoutMs,
  );

beforeAll(async () => {
  tools = ok(await run('bash', ['ci/helm-tools.sh'], 300_000)).stdout.trim();
  const build = ok(await run('bash', ['ci/cluster/build.sh'], 3_600_000));
  figure('build seconds (0 when cached)', Math.round(build.ms / 1000));
  const up = ok(await run('bash', ['ci/cluster/up.sh'], 600_000));
  figure('cluster:up seconds', Math.round(up.ms / 1000));
  const paths = ok(
    await run('bash', ['-c', '. ci/cluster/env.sh && echo "$KUBECONFIG_OUT $CLUSTER_BIN"'], 5000),
  );
  [kubeconfig, kubectl] = paths.stdout.trim().split(' ') as [string, string];
  kubectl = join(kubectl, 'kubectl');
}, 3_700_000);

const keep = process.env.CLUSTER_KEEP === '1';
let down = false;

// What the last test did not get to (a failure before it): the namespace, then the cluster.
afterAll(async () => {
  if (process.env.CLUSTER_FIGURES)
    writeFileSync(process.env.CLUSTER_FIGURES, JSON.stringify(figures, null, 2));
  rmSync(reports, { recursive: true, force: true });
  if (keep || down) return;
  await run('bash', ['ci/cleanup.sh', namespace], 600_000);
  await run('bash', ['ci/cluster/down.sh'], 300_000);
}, 900_000);

describe('the single-node cluster', () => {
  it('has its node Ready, on the Kubernetes it was built as', async () => {
    const node = await kubeJson('get', 'node', 'chaos-node');
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.status).toBe('True');
    expect(node.status.nodeInfo.kubeletVersion).toMatch(/^v1\.35\.\d+$/);
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
  });

  it('answers DNS for the cluster domain through the kube-dns Service', async () => {
    const resolver = new Resolver({ timeout: 2000, tries: 2 });
    const dns = await kubeJson('get', 'service', 'kube-dns', '-n', 'kube-system');
    resolver.setServers([dns.spec.clusterIP]);
    const api = await kubeJson('get', 'service', 'kubernetes', '-n', 'default');
    expect(await resolver.resolve4('kubernetes.default.svc.cluster.local')).toEqual([api.spec.clusterIP]);
  });
});

describe('the pipeline on it (ci/*.sh, CI_CLUSTER=chaos-node)', () => {
  it('builds the images and loads them into the node', async () => {
    const podman = existsSync('/usr/bin/podman')
      ? { CONTAINERS_CONF: join(root, '.ci/containers.conf') }
      : {};
    const built = ok(await run('bash', ['ci/build-images.sh', tag], 1_800_000, podman));
    figure('images built seconds', Math.round(built.ms / 1000));
    const loaded = ok(await run('bash', ['ci/cluster/load-images.sh', tag], 900_000));
    figure('images loaded seconds', Math.round(loaded.ms / 1000));
  }, 2_800_000);

  it('installs the chart, every workload ready, and its helm test places an order', async () => {
    const deployed = ok(await run('bash', ['ci/deploy.sh', namespace, tag], 900_000));
    figure('chart installed and tested seconds', Math.round(deployed.ms / 1000));
    const pods = await kubeJson('get', 'pods', '-n', namespace);
    const notReady = pods.items.filter(
      (p: { status: { phase: string; conditions?: Array<{ type: string; status: string }> } }) =>
        p.status.phase !== 'Succeeded' &&
        !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(notReady.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual([]);
    const claim = await kubeJson('get', 'pvc', '-n', namespace, 'data-chaos-platform-postgresql-0');
    expect(claim.status.phase).toBe('Bound');
    const services = ['order-service', 'inventory-service', 'notification-service'];
    urls = await Promise.all(
      services.map(async (service) => {
        const svc = await kubeJson('get', 'service', '-n', namespace, service);
        return `${service}=http://${svc.spec.clusterIP}:${svc.spec.ports[0].port}`;
      }),
    );
    // The services waited for PostgreSQL instead of exiting into the kubelet's restart back-off.
    const restarted = pods.items.flatMap(
      (p: { metadata: { name: string }; status: { containerStatuses?: Array<{ restartCount: number }> } }) =>
        (p.status.containerStatuses ?? []).some((c) => c.restartCount > 0) ? [p.metadata.name] : [],
    );
    expect(restarted).toEqual([]);
  }, 900_000);
});

interface Experiment {
  name: string;
  status: string;
  error?: string;
  fault: { verified: boolean; evidence: string; injectedAt: string | null };
  recovery: Record<string, number | null>;
  traffic: { before: { requests: number }; during: { requests: number; errorRate: number; p95Ms: number } };
  integrity: { passed: boolean; acknowledged: number; readBack: number } | null;
}
const reportOf = (r: Result) => JSON.parse(r.stdout) as { verdict: string; experiments: Experiment[] };
const phases = (e: Experiment) =>
  Object.fromEntries(Object.entries(e.recovery).filter(([, ms]) => ms !== null)) as Record<string, number>;

describe("chaosctl from outside the cluster, as the chart's chaosctl ServiceAccount", () => {
  // A kubeconfig holding a token of the chart's own ServiceAccount: RBAC exactly the chart's Role.
  let saKubeconfig = '';
  const asChart = (args: string[], timeoutMs?: number) =>
    chaosctl([...args, `--kubeconfig=${saKubeconfig}`], timeoutMs);

  beforeAll(async () => {
    const token = ok(await kube('create', 'token', 'chaos-platform-chaosctl', '-n', namespace)).stdout.trim();
    const admin = readFileSync(kubeconfig, 'utf8');
    const server = /server: (\S+)/.exec(admin)?.[1];
    const ca = /certificate-authority-data: (\S+)/.exec(admin)?.[1];
    saKubeconfig = join(reports, 'chaosctl-sa.kubeconfig');
    writeFileSync(
      saKubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: ${server}, certificate-authority-data: ${ca}}}]\nusers: [{name: chaosctl, user: {token: ${token}}}]\ncontexts: [{name: c, context: {cluster: c, user: chaosctl, namespace: ${namespace}}}]\ncurrent-context: c\n`,
      { mode: 0o600 },
    );
  });

  it('cannot do what its Role does not grant (deleting a Deployment)', async () => {
    const denied = await run(
      kubectl,
      ['--kubeconfig', saKubeconfig, 'delete', 'deployment', 'order-service', '--dry-run=server'],
      30_000,
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/forbidden/);
  });

  // The pod's own grace period (30 s; the services drain in 5 s), and one of 1 s that cuts the
  // drain short: the kubelet's SIGKILL ends the old pod after it.
  it.each([
    ['evict', 'order-service', [], 15_000],
    ['delete', 'inventory-service', [], 15_000],
    ['delete', 'notification-service', ['--grace-period=1'], 4_000],
  ])(
    'pod-kill --mode %s %s %j: the kubelet replaces the pod, recovery in phases',
    async (mode, service, flags, goneWithinMs) => {
      const pods = () => kubeJson('get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/name=${service}`);
      const names = (list: { items: Array<{ metadata: { name: string } }> }) =>
        list.items.map((p) => p.metadata.name);
      const before = await pods();
      const r = await asChart([
        'pod-kill',
        `--service=${service}`,
        `--mode=${mode}`,
        ...flags,
        `--report-dir=${reports}`,
      ]);
      const [e] = reportOf(r).experiments;
      figure(`host pod-kill --mode ${mode} ${service} ${flags.join(' ')}`, {
        ...phases(e as Experiment),
        evidence: e?.fault.evidence,
      });
      expect(r.code).toBe(0);
      expect(e).toMatchObject({ status: 'pass', fault: { verified: true }, integrity: { passed: true } });
      expect(e?.recovery.terminatedMs).toBeGreaterThan(0);
      expect(e?.recovery.terminatedMs).toBeLessThan(goneWithinMs);
      expect(e?.recovery.capacityRestoredMs).toBeGreaterThan(0);
      expect(names(await pods()).filter((n) => !names(before).includes(n))).toHaveLength(1);
    },
    400_000,
  );

  it('cpu-stress: burners in the target container, throttling read from its real cgroup (v1)', async () => {
    const r = await asChart([
      'cpu-stress',
      '--service=order-service',
      '--duration=10s',
      `--report-dir=${reports}`,
    ]);
    const [e] = reportOf(r).experiments;
    figure('host cpu-stress order-service', { ...phases(e as Experiment), evidence: e?.fault.evidence });
    expect(r.code).toBe(0);
    expect(e).toMatchObject({ status: 'pass', fault: { verified: true } });
    // The container's own cgroup (v1 here: cpuacct.usage and cpu.stat's throttled_time).
    expect(e?.fault.evidence).toMatch(/used \d+% of its CPU limit, throttled \d+%, stalled n\/a/);
  }, 400_000);

  it('container-kill: the kubelet restarts the container in place, the pod keeps its name', async () => {
    const before = await kubeJson(
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      'app.kubernetes.io/name=order-service',
    );
    const restarts = (list: {
      items: Array<{
        metadata: { name: string };
        status: { containerStatuses: Array<{ restartCount: number }> };
      }>;
    }) =>
      Object.fromEntries(
        list.items.map((p) => [p.metadata.name, p.status.containerStatuses[0]?.restartCount ?? 0]),
      );
    const r = await asChart(['container-kill', '--service=order-service', `--report-dir=${reports}`]);
    const [e] = reportOf(r).experiments;
    figure('host container-kill order-service', { ...phases(e as Experiment), evidence: e?.fault.evidence });
    expect(r.code).toBe(0);
    expect(e).toMatchObject({ status: 'pass', fault: { verified: true }, integrity: { passed: true } });
    const after = restarts(
      await kubeJson('get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/name=order-service'),
    );
    const was = restarts(before);
    expect(Object.keys(after).sort()).toEqual(Object.keys(was).sort());
    expect(Object.entries(after).filter(([name, n]) => n > (was[name] ?? 0))).toHaveLength(1);
  }, 400_000);

  it("memory-stress: memory held in the container's own cgroup (v1), its usage as evidence", async () => {
    const r = await asChart([
      'memory-stress',
      '--service=order-service',
      '--size=100MB',
      '--duration=10s',
      `--report-dir=${reports}`,
    ]);
    const [e] = reportOf(r).experiments;
    figure('host memory-stress order-service', { ...phases(e as Experiment), evidence: e?.fault.evidence });
    expect(r.code).toBe(0);
    expect(e).toMatchObject({ status: 'pass', fault: { verified: true } });
  }, 400_000);

  it('network-delay: refused before any traffic, the report saying the kernel lacks sch_netem', async () => {
    const r = await asChart([
      'network-delay',
      '--service=inventory-service',
      '--latency=100ms',
      '--duration=5s',
      `--report-dir=${reports}`,
    ]);
    const [e] = reportOf(r).experiments;
    expect(r.code).toBe(1);
    expect(e?.status).toBe('skipped');
    expect(e?.error).toMatch(
      /^the kernel of node chaos-node lacks sch_netem \(tc in inventory-service-\S+: "Error: Specified qdisc kind is unknown\."\)/,
    );
    expect(e?.traffic.before.requests).toBe(0);
    expect(r.stderr).toMatch(/SKIPPED \(the kernel of node chaos-node lacks sch_netem/);
  }, 300_000);

  it('Ctrl-C during cpu-stress: exits 130 and leaves no burner in the container', async () => {
    const child = spawn(
      process.execPath,
      [
        'cli/bundle/cli.js',
        'cpu-stress',
        '--service=order-service',
        '--duration=5m',
        `--report-dir=${join(reports, 'interrupted')}`,
        '--driver=kubernetes',
        `--kubeconfig=${saKubeconfig}`,
        `--namespace=${namespace}`,
        ...urls.flatMap((u) => ['--url', u]),
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    const landed = new Promise<void>((resolveLanded, reject) => {
      const timer = setTimeout(() => reject(new Error(`not injected after 120 s:\n${stderr}`)), 120_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/\] fault: /.test(stderr)) {
          clearTimeout(timer);
          resolveLanded();
        }
      });
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await landed;
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(130);
    const pods = await kubeJson('get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/name=order-service');
    for (const pod of pods.items as Array<{ metadata: { name: string } }>) {
      const procs = ok(
        await kube(
          'exec',
          '-n',
          namespace,
          pod.metadata.name,
          '--',
          'sh',
          '-c',
          'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; done',
        ),
      ).stdout;
      expect(procs).not.toMatch(/while :; do :; done/);
    }
  }, 300_000);
});

describe("the chart's chaos suite in the cluster (its helm test, the chart's chaosctl Role)", () => {
  it('passes run-all: every pod-kill and the cpu-stress, network-delay skipped for want of sch_netem', async () => {
    const out = join(reports, 'in-cluster');
    const suite = await run('bash', ['ci/chaos-test.sh', namespace, out, tag], 1_800_000);
    figure('in-cluster run-all seconds', Math.round(suite.ms / 1000));
    const report = JSON.parse(readFileSync(join(out, 'chaos-report.json'), 'utf8')) as {
      verdict: string;
      experiments: Experiment[];
    };
    figure(
      'in-cluster run-all',
      report.experiments.map((e) => ({ name: e.name, status: e.status, ...phases(e), error: e.error })),
    );
    expect(suite.code).toBe(0);
    expect(report.verdict).toBe('pass');
    const byType = (name: string) => report.experiments.filter((e) => e.name.includes(name));
    for (const kill of byType('kill')) {
      expect(kill).toMatchObject({ status: 'pass', fault: { verified: true } });
      expect(kill.recovery.capacityRestoredMs).toBeGreaterThan(0);
      // The services drain in SHUTDOWN_DELAY_MS (5 s) and exit: nothing in the pod (network-delay's
      // agent container included, which the skipped experiment before left in an inventory pod)
      // holds its deletion until the grace period's SIGKILL (30 s).
      expect(kill.recovery.terminatedMs).toBeLessThan(15_000);
    }
    const [delay] = byType('300 ms');
    expect(delay).toMatchObject({ status: 'skipped', fault: { injectedAt: null } });
    expect(delay?.error).toMatch(/lacks sch_netem/);
    expect(delay?.traffic.before.requests).toBe(0);
    expect(byType('CPU')[0]).toMatchObject({ status: 'pass', fault: { verified: true } });
    const validated = await run('bash', ['ci/validate.sh', join(out, 'chaos-report.json'), tag], 300_000);
    expect(validated.stdout).toMatch(/^PASS +kill an order-service replica/m);
    expect(validated.stdout).toMatch(/^SKIPPED 300 ms in front of inventory-service/m);
    expect(validated.code).toBe(0);
  }, 1_900_000);
});

// Last: with CLUSTER_KEEP=1 the cluster and the namespace stay up to be looked at.
if (!keep)
  describe('npm run cluster:down', () => {
    it('returns the machine to how it was: no process, mount, cgroup, netns, veth or route', async () => {
      ok(await run('bash', ['ci/cleanup.sh', namespace], 600_000));
      const stopped = ok(await run('bash', ['ci/cluster/down.sh'], 300_000));
      down = true;
      figure('cluster:down seconds', Math.round(stopped.ms / 1000));
      const check = await run('bash', ['ci/cluster/down.sh', '--check'], 60_000);
      expect({ code: check.code, left: check.stdout }).toEqual({ code: 0, left: '' });
      // Idempotent: a second down finds nothing to do.
      expect((await run('bash', ['ci/cluster/down.sh'], 60_000)).code).toBe(0);
    }, 900_000);
  });

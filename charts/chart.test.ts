// The umbrella chart, checked with the real helm (v4, fetched by ci/helm-tools.sh): lint --strict
// and template with the default values and with every option on, then assertions on what keeps
// the platform up: probes, replicas, rollout, hardening, disruption budgets, reinstalls, and the
// rendered NetworkPolicies evaluated for every caller the platform and chaosctl need.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { KubeDouble } from '../cli/test/kube-double/index.js';
import { allows, type Cluster, type NetworkPolicy, type Pod } from './network-policy.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const chart = join(root, 'charts/chaos-platform');
const allFeatures = join(chart, 'ci/all-features-values.yaml');
const SERVICES = ['order-service', 'inventory-service', 'notification-service'];
// What a cluster with the Prometheus Operator's CRDs reports: the kinds, not only the group version.
const OPERATOR_KINDS = [
  '--api-versions',
  'monitoring.coreos.com/v1/ServiceMonitor',
  '--api-versions',
  'monitoring.coreos.com/v1/PrometheusRule',
];

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are checked field by field.
type K8sObject = Record<string, any>;

let helm = '';

const template = (...args: string[]) => render('shop', ...args);

async function render(release: string, ...args: string[]): Promise<K8sObject[]> {
  const { stdout } = await run(helm, ['template', release, chart, '--namespace', 'shop', ...args], {
    maxBuffer: 20 * 1024 * 1024,
  });
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as K8sObject)
    .filter(Boolean);
}

/**
 * Validates an object against the schema generated from Kubernetes' (and the Prometheus
 * Operator's) OpenAPI definitions, by the kubernetes-models packages.
 */
async function validateSchema(object: K8sObject): Promise<void> {
  const { apiVersion, kind } = object as { apiVersion: string; kind: string };
  const module = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`;
  const Model = (await import(module))[kind];
  new Model(object).validate();
}

const find = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) as K8sObject;

beforeAll(async () => {
  const { stdout } = await run('bash', [join(root, 'ci/helm-tools.sh')], { timeout: 120_000 });
  helm = join(stdout.trim(), 'helm');
}, 150_000);

describe('helm lint --strict', () => {
  it.each([
    ['default values', []],
    ['every option on', ['-f', allFeatures]],
  ])('passes with %s', async (_name, args) => {
    const { stdout } = await run(helm, ['lint', '--strict', chart, ...args]);
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('helm package', () => {
  it('packs the chart with the dashboard and alert rules its symlinks point at', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chart-'));
    try {
      await run(helm, ['package', chart, '--destination', out]);
      const { stdout } = await run('tar', ['-tzf', join(out, 'chaos-platform-0.1.0.tgz')]);
      expect(stdout.split('\n')).toEqual(
        expect.arrayContaining([
          'chaos-platform/files/dashboards/chaos-platform.json',
          'chaos-platform/files/alerts.yaml',
          'chaos-platform/charts/service/templates/deployment.yaml',
        ]),
      );
      expect(stdout).not.toContain('chaos-platform/ci/');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('every rendered object', () => {
  it.each([
    ['default values', []],
    ['the chaos suite test on', ['--set', 'chaosctl.test.enabled=true']],
    ['every option on', ['-f', allFeatures, ...OPERATOR_KINDS]],
  ])('validates against the Kubernetes OpenAPI schemas with %s', async (_name, args) => {
    const objects = await template(...args);
    expect(objects.length).toBeGreaterThan(20);
    for (const object of objects) {
      await expect(validateSchema(object)).resolves.toBeUndefined();
    }
  });

  it('would catch a wrong type', async () => {
    const [deployment] = (await template()).filter((o) => o.kind === 'Deployment');
    await expect(
      validateSchema({ ...deployment, spec: { ...deployment?.spec, replicas: 'two' } }),
    ).rejects.toThrow(/replicas/);
  });
});

describe('values.schema.json and the chart guards', () => {
  it.each([
    [['--set', 'order-service.replicaz=3'], /additional properties 'replicaz' not allowed/],
    [['--set', 'inventory-service.replicaCount=0'], /replicaCount/],
    [['--set', 'global.image.pullPolicy=Sometimes'], /pullPolicy/],
    [['--set', 'postgresql.password=p@ss/word'], /password/],
    [['--set', 'postgresql.enabled=false'], /needs global.externalDatabase.existingSecret/],
    [['--set', 'global.externalDatabase.existingSecret=urls'], /set postgresql.enabled=false too/],
    [
      ['--set', 'chaosctl.test.enabled=true', '--set', 'chaosctl.rbac.create=false'],
      /needs chaosctl.rbac.create/,
    ],
    [['--set', 'postgresql.storage.retentionPolicy.whenDeleted=Forget'], /whenDeleted/],
    [['--set', 'chaosctl.job.enabled=true'], /additional properties 'job' not allowed/],
  ])('refuses %j', async (args, message) => {
    await expect(template(...args)).rejects.toMatchObject({ stderr: expect.stringMatching(message) });
  });
});

describe('rendered with default values', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template();
  });

  it.each(SERVICES)('%s: two replicas, rolled without losing capacity, spread across nodes', (name) => {
    const deployment = find(objects, 'Deployment', name);
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    const affinity =
      deployment.spec.template.spec.affinity.podAntiAffinity
        .preferredDuringSchedulingIgnoredDuringExecution[0];
    expect(affinity.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
  });

  it.each(SERVICES)(
    '%s: startup, liveness and readiness probes on /healthz and /readyz, on the probe port',
    (name) => {
      const [container] = find(objects, 'Deployment', name).spec.template.spec.containers;
      expect(container.startupProbe.httpGet.path).toBe('/healthz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      // The service's own listener for them (PROBE_PORT), which load shedding never touches.
      const ports = Object.fromEntries(container.ports.map((p: K8sObject) => [p.name, p.containerPort]));
      expect(ports.probes).toBe(ports.http + 1000);
      expect(container.env).toContainEqual({ name: 'PROBE_PORT', value: String(ports.probes) });
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(container[probe].httpGet.port).toBe('probes');
      expect(container.readinessProbe.periodSeconds).toBeLessThanOrEqual(5);
    },
  );

  it.each(SERVICES)('%s: grace period longer than the drain plus the shutdown limit', (name) => {
    const pod = find(objects, 'Deployment', name).spec.template.spec;
    const env = Object.fromEntries(
      pod.containers[0].env.map((e: K8sObject) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env.HOST).toBe('0.0.0.0');
    const drainS = (Number(env.SHUTDOWN_DELAY_MS) + Number(env.SHUTDOWN_TIMEOUT_MS)) / 1000;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drainS);
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/chaos:\$\(DB_PASSWORD\)@shop-postgresql:5432\/\w+$/);
    expect(env.DB_PASSWORD).toEqual({ secretKeyRef: { name: 'shop-postgresql', key: 'password' } });
  });

  it.each(SERVICES)('%s: hardened pod and container', (name) => {
    const pod = find(objects, 'Deployment', name).spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const [container] = pod.containers;
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(find(objects, 'ServiceAccount', name).automountServiceAccountToken).toBe(false);
  });

  it.each(SERVICES)('%s: a PodDisruptionBudget keeps one replica up', (name) => {
    expect(find(objects, 'PodDisruptionBudget', name).spec).toEqual({
      minAvailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'shop' } },
    });
  });

  it('runs PostgreSQL as a StatefulSet with a volume claim and one database per service', () => {
    const statefulSet = find(objects, 'StatefulSet', 'shop-postgresql');
    expect(statefulSet.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('2Gi');
    const databases = find(objects, 'ConfigMap', 'shop-postgresql-initdb').data['databases.sql'];
    for (const db of ['orders', 'inventory', 'notifications'])
      expect(databases).toContain(`CREATE DATABASE ${db} OWNER chaos;`);
  });

  it('ships a helm test that places an order and expects 201', () => {
    const test = find(objects, 'Pod', 'shop-place-order');
    expect(test.metadata.annotations['helm.sh/hook']).toBe('test');
    expect(test.spec.containers[0].command.join(' ')).toMatch(
      /POST http:\/\/order-service:5000\/orders[\s\S]*test "\$code" = 201/,
    );
  });

  it("ships chaosctl's least-privilege RBAC, release-prefixed, and the dashboard", () => {
    const rbac = parseAllDocuments(readFileSync(join(chart, 'files/chaosctl-rbac.yaml'), 'utf8')).map(
      (d) => d.toJS() as K8sObject,
    );
    expect(find(objects, 'Role', 'shop-chaosctl').rules).toEqual(rbac.find((o) => o.kind === 'Role')?.rules);
    expect(find(objects, 'ServiceAccount', 'shop-chaosctl').automountServiceAccountToken).toBe(true);
    const binding = find(objects, 'RoleBinding', 'shop-chaosctl');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'shop-chaosctl',
    });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'shop-chaosctl', namespace: 'shop' }]);
    const dashboard = find(objects, 'ConfigMap', 'shop-grafana-dashboard');
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard.data['chaos-platform.json'])).toEqual(
      JSON.parse(readFileSync(join(root, 'grafana/dashboards/chaos-platform.json'), 'utf8')),
    );
  });

  it('renders no ServiceMonitor or PrometheusRule without the Prometheus Operator', () => {
    expect(objects.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind))).toEqual([]);
  });

  it('runs no chaos and nothing else as an install or upgrade hook', () => {
    expect(
      objects
        .filter((o) => o.metadata.annotations?.['helm.sh/hook'] !== undefined)
        .map((o) => o.metadata.name),
    ).toEqual(['shop-place-order']);
  });
});

describe('the monitoring objects', () => {
  const monitoringKinds = async (...args: string[]) =>
    (await template(...args))
      .filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'))
      .map((o) => o.kind);

  it('are gated on their kinds, not on the group version a partial install also serves', async () => {
    expect(await monitoringKinds('--api-versions', 'monitoring.coreos.com/v1')).toEqual([]);
    expect(await monitoringKinds('--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor')).toEqual([
      'ServiceMonitor',
      'ServiceMonitor',
      'ServiceMonitor',
    ]);
    expect((await monitoringKinds(...OPERATOR_KINDS)).sort()).toEqual([
      'PrometheusRule',
      'ServiceMonitor',
      'ServiceMonitor',
      'ServiceMonitor',
    ]);
  });
});

describe('a reinstall into a kept cluster', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template();
  });

  it('keeps the generated database password across helm uninstall (resource-policy keep)', () => {
    const secret = find(objects, 'Secret', 'shop-postgresql');
    expect(secret.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    expect(Buffer.from(secret.data.password, 'base64').toString()).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  describe('installing again, with helm asking an API server double what exists', () => {
    const api = new KubeDouble();
    const work = mkdtempSync(join(tmpdir(), 'chart-reinstall-'));
    const config = join(work, 'kubeconfig');
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    let core: CoreV1Api;
    beforeAll(async () => {
      await api.start();
      api.writeKubeconfig(config, { context: 'kind-chaos-platform', user: 'kubernetes-admin' });
      const kc = new KubeConfig();
      kc.loadFromFile(config);
      core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    });
    afterAll(async () => {
      await api.stop();
      rmSync(work, { recursive: true, force: true });
    });
    // `helm template --dry-run=server` runs the install's checks and lookups against the cluster.
    const installed = async () =>
      template('--dry-run=server', '--disable-openapi-validation', '--kubeconfig', config);

    it('reuses the password of the Secret the first install left, the one the kept data directory holds', async () => {
      // The Secret as an uninstall leaves a keep resource: with the ownership metadata helm wrote on
      // install (app.kubernetes.io/managed-by, meta.helm.sh/release-name and -namespace).
      await core.createNamespacedSecret({
        namespace: 'shop',
        body: {
          metadata: {
            name: 'shop-postgresql',
            namespace: 'shop',
            labels: { 'app.kubernetes.io/name': 'postgresql', 'app.kubernetes.io/managed-by': 'Helm' },
            annotations: {
              'meta.helm.sh/release-name': 'shop',
              'meta.helm.sh/release-namespace': 'shop',
              'helm.sh/resource-policy': 'keep',
            },
          },
          type: 'Opaque',
          data: { password: b64('the-first-install-s-password') },
        },
      });
      const secret = find(await installed(), 'Secret', 'shop-postgresql');
      expect(secret.data.password).toBe(b64('the-first-install-s-password'));
      expect(api.requests).toContainEqual(
        expect.objectContaining({
          verb: 'get',
          resource: 'secrets',
          namespace: 'shop',
          name: 'shop-postgresql',
        }),
      );
    });

    it('generates a password when there is none (a first install, or CI after deleting the namespace)', async () => {
      await core.deleteNamespacedSecret({ namespace: 'shop', name: 'shop-postgresql' });
      const password = find(await installed(), 'Secret', 'shop-postgresql').data.password;
      expect(Buffer.from(password, 'base64').toString()).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(password).not.toBe(b64('the-first-install-s-password'));
    });
  });

  it('retains the volume claim by default, deletes it with the StatefulSet when CI says so', async () => {
    expect(find(objects, 'StatefulSet', 'shop-postgresql').spec.persistentVolumeClaimRetentionPolicy).toEqual(
      {
        whenDeleted: 'Retain',
        whenScaled: 'Retain',
      },
    );
    const ci = await template('-f', join(root, 'ci/kind-values.yaml'));
    expect(find(ci, 'StatefulSet', 'shop-postgresql').spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Delete',
      whenScaled: 'Delete',
    });
  });

  it('calls PostgreSQL ready only once it answers over TCP, after a startup probe covers the first initialisation', () => {
    const [container] = find(objects, 'StatefulSet', 'shop-postgresql').spec.template.spec.containers;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(container[probe].exec.command).toEqual(
        expect.arrayContaining(['pg_isready', '-h', '127.0.0.1', '-p', '5432']),
      );
    }
    expect(
      container.startupProbe.periodSeconds * container.startupProbe.failureThreshold,
    ).toBeGreaterThanOrEqual(60);
  });

  it('grants Chaos Mesh objects only when chaosctl.chaosMesh.enabled', async () => {
    const file = parseAllDocuments(
      readFileSync(join(chart, 'files/chaosctl-rbac-chaos-mesh.yaml'), 'utf8'),
    ).map((d) => d.toJS() as K8sObject);
    expect(objects.some((o) => o.metadata.name === 'shop-chaosctl-chaos-mesh')).toBe(false);
    const withMesh = await template('--set', 'chaosctl.chaosMesh.enabled=true');
    expect(find(withMesh, 'Role', 'shop-chaosctl-chaos-mesh').rules).toEqual(
      file.find((o) => o.kind === 'Role')?.rules,
    );
    const binding = find(withMesh, 'RoleBinding', 'shop-chaosctl-chaos-mesh');
    expect(binding.roleRef.name).toBe('shop-chaosctl-chaos-mesh');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'shop-chaosctl', namespace: 'shop' }]);
  });

  it('names chaosctl RBAC per release, so two releases share a namespace', async () => {
    const rbac = (objects: K8sObject[]) =>
      objects
        .filter(
          (o) =>
            ['ServiceAccount', 'Role', 'RoleBinding'].includes(o.kind) &&
            o.metadata.labels['app.kubernetes.io/name'] === 'chaosctl',
        )
        .map((o) => `${o.kind}/${o.metadata.name}`);
    const [first, second] = [rbac(objects), rbac(await render('other'))];
    expect(first).toHaveLength(3);
    expect(first.filter((name) => second.includes(name))).toEqual([]);
  });
});

/** The pods the chart runs (from Deployments, the StatefulSet and test Pods), by name. */
function podsOf(objects: K8sObject[]): Record<string, Pod> {
  const pods: Record<string, Pod> = {};
  for (const o of objects) {
    const template =
      o.kind === 'Pod' ? o : ['Deployment', 'StatefulSet'].includes(o.kind) ? o.spec.template : undefined;
    if (!template) continue;
    pods[o.metadata.name] = {
      namespace: 'shop',
      labels: template.metadata.labels,
      ports: template.spec.containers.flatMap((c: K8sObject) => c.ports ?? []),
    };
  }
  return pods;
}

describe('the rendered NetworkPolicies, evaluated', () => {
  let cluster: Cluster;
  let pods: Record<string, Pod>;
  // Pods the chart does not run: Prometheus (kube-prometheus-stack in `monitoring`), a pod of your
  // own that runs chaosctl (labelled as values.yaml says), and pods that must stay out.
  const prometheus: Pod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
  const usersChaosctl: Pod = {
    namespace: 'shop',
    labels: { 'app.kubernetes.io/name': 'chaosctl', 'app.kubernetes.io/instance': 'shop', run: 'mine' },
  };
  const anyPod: Pod = { namespace: 'shop', labels: { run: 'debug' } };
  const otherReleasesChaosctl: Pod = {
    namespace: 'shop',
    labels: { 'app.kubernetes.io/name': 'chaosctl', 'app.kubernetes.io/instance': 'other' },
  };
  const chaosctlElsewhere: Pod = { ...usersChaosctl, namespace: 'elsewhere' };
  // The API server's endpoint as a pod sees it after the kubernetes Service's DNAT (KIND: the
  // control-plane node's address on the docker network, port 6443).
  const kubeApi = { ip: '172.18.0.2' };
  const ports: Record<string, number> = {
    'order-service': 5000,
    'inventory-service': 5001,
    'notification-service': 5002,
    'shop-postgresql': 5432,
  };

  beforeAll(async () => {
    const objects = await template('--set', 'chaosctl.test.enabled=true');
    cluster = {
      policies: objects
        .filter((o) => o.kind === 'NetworkPolicy')
        .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } }) as NetworkPolicy),
      namespaces: Object.fromEntries(
        ['shop', 'monitoring', 'elsewhere'].map((name) => [name, { 'kubernetes.io/metadata.name': name }]),
      ),
    };
    pods = podsOf(objects);
  });

  const reach = (from: Pod | { ip: string }, to: string, port = ports[to] as number) =>
    allows(cluster, from, pods[to] as Pod, port);

  it('isolates every service and the database (each has a policy)', () => {
    expect(cluster.policies.map((p) => p.metadata.name).sort()).toEqual(
      [...SERVICES, 'shop-postgresql'].sort(),
    );
  });

  it.each([
    ['order-service', 'inventory-service'],
    ['order-service', 'notification-service'],
    ['order-service', 'shop-postgresql'],
    ['inventory-service', 'shop-postgresql'],
    ['notification-service', 'shop-postgresql'],
    ['shop-place-order', 'order-service'],
    ['shop-chaos-suite', 'order-service'],
    ['shop-chaos-suite', 'inventory-service'],
    ['shop-chaos-suite', 'notification-service'],
  ])('lets %s reach %s', (from, to) => {
    expect(reach(pods[from] as Pod, to)).toBe(true);
  });

  it.each(SERVICES)("lets a user's chaosctl pod and Prometheus (monitoring namespace) reach %s", (to) => {
    expect(reach(usersChaosctl, to)).toBe(true);
    expect(reach(prometheus, to)).toBe(true);
  });

  it('lets chaosctl reach the Kubernetes API: no policy restricts its egress', () => {
    expect(allows(cluster, pods['shop-chaos-suite'] as Pod, kubeApi, 6443)).toBe(true);
    expect(allows(cluster, usersChaosctl, kubeApi, 6443)).toBe(true);
  });

  it.each(['inventory-service', 'notification-service', 'shop-postgresql'])(
    'keeps any other pod of the namespace, and pods of other namespaces, away from %s',
    (to) => {
      expect(reach(anyPod, to)).toBe(false);
      expect(reach({ ...anyPod, namespace: 'elsewhere' }, to)).toBe(false);
      expect(reach(otherReleasesChaosctl, to)).toBe(false);
      expect(reach(chaosctlElsewhere, to)).toBe(false);
    },
  );

  it('lets nothing but the services reach PostgreSQL: not chaosctl, the tests or Prometheus', () => {
    for (const from of [pods['shop-chaos-suite'], pods['shop-place-order'], usersChaosctl, prometheus]) {
      expect(reach(from as Pod, 'shop-postgresql')).toBe(false);
    }
  });

  it('admits callers on the service port only', () => {
    expect(reach(pods['order-service'] as Pod, 'inventory-service', 9229)).toBe(false);
    expect(reach(pods['order-service'] as Pod, 'shop-postgresql', 5433)).toBe(false);
  });

  it('admits Prometheus from the monitoring namespace the values name, and only from it', async () => {
    const objects = await template('-f', allFeatures);
    const observability: Cluster = {
      policies: objects
        .filter((o) => o.kind === 'NetworkPolicy')
        .map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } }) as NetworkPolicy),
      namespaces: Object.fromEntries(
        ['monitoring', 'observability'].map((name) => [name, { 'kubernetes.io/metadata.name': name }]),
      ),
    };
    const inventory = podsOf(objects)['inventory-service'] as Pod;
    expect(allows(observability, { ...prometheus, namespace: 'observability' }, inventory, 5001)).toBe(true);
    expect(allows(observability, prometheus, inventory, 5001)).toBe(false);
  });
});

describe('rendered with every option on', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template('-f', allFeatures, ...OPERATOR_KINDS);
  });

  it('uses the external database secret and no in-chart PostgreSQL', () => {
    expect(objects.filter((o) => o.metadata.name.includes('postgresql'))).toEqual([]);
    const env = find(objects, 'Deployment', 'order-service').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'chaos-platform-database-urls', key: 'order-service' } },
    });
  });

  it('offers the chaos suite as a helm test, on demand, as the release-prefixed chaosctl ServiceAccount', () => {
    const suite = find(objects, 'Pod', 'shop-chaos-suite');
    expect(suite.metadata.annotations['helm.sh/hook']).toBe('test');
    expect(suite.metadata.annotations['helm.sh/hook-delete-policy']).toBe('before-hook-creation');
    expect(suite.spec.serviceAccountName).toBe('shop-chaosctl');
    expect(suite.spec.restartPolicy).toBe('Never');
    const [container] = suite.spec.containers;
    expect(container.image).toBe('registry.example.com/chaos-platform/chaosctl:3f2a9c1');
    expect(container.command).toBeUndefined(); // the image's entrypoint: chaosctl
    expect(container.args).toEqual([
      'run-all',
      '--driver=kubernetes',
      '--namespace=shop',
      '--netem-image=registry.example.com/tools/netshoot:v0.13',
      '--report-dir=/tmp/reports',
      '--json',
      '--pushgateway=http://prometheus-pushgateway.observability:9091',
    ]);
    expect(objects.filter((o) => /post-|pre-/.test(o.metadata.annotations?.['helm.sh/hook'] ?? ''))).toEqual(
      [],
    );
  });

  it('tags images from the registry and tag given', () => {
    expect(find(objects, 'Deployment', 'inventory-service').spec.template.spec.containers[0].image).toBe(
      'registry.example.com/chaos-platform/inventory-service:3f2a9c1',
    );
  });

  it('adds ServiceMonitors and the PrometheusRule labelled for the Prometheus release', () => {
    for (const name of SERVICES) {
      expect(find(objects, 'ServiceMonitor', name).metadata.labels.release).toBe('prometheus');
    }
    const rule = find(objects, 'PrometheusRule', 'shop-alerts');
    expect(rule.metadata.labels.release).toBe('prometheus');
    expect(rule.spec).toEqual(
      parse(readFileSync(join(root, 'grafana/alerts/chaos-platform.rules.yaml'), 'utf8')),
    );
  });
});

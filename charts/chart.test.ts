// The umbrella chart, checked with the real helm (v4, fetched by ci/helm-tools.sh): lint --strict
// and template with the default values and with every option on, then assertions on what keeps
// the platform up: probes, replicas, rollout, hardening, disruption budgets and network policy.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '..');
const chart = join(root, 'charts/chaos-platform');
const allFeatures = join(chart, 'ci/all-features-values.yaml');
const SERVICES = ['order-service', 'inventory-service', 'notification-service'];

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are checked field by field.
type K8sObject = Record<string, any>;

let helm = '';

async function template(...args: string[]): Promise<K8sObject[]> {
  const { stdout } = await run(helm, ['template', 'shop', chart, '--namespace', 'shop', ...args], {
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
    ['every option on', ['-f', allFeatures, '--api-versions', 'monitoring.coreos.com/v1']],
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

  it.each(SERVICES)('%s: startup, liveness and readiness probes on /healthz and /readyz', (name) => {
    const [container] = find(objects, 'Deployment', name).spec.template.spec.containers;
    expect(container.startupProbe.httpGet.path).toBe('/healthz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.readinessProbe.periodSeconds).toBeLessThanOrEqual(5);
  });

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

  it('lets anyone reach order-service, only order-service (and monitoring) reach the others', () => {
    expect(find(objects, 'NetworkPolicy', 'order-service').spec.ingress).toEqual([
      { ports: [{ port: 'http' }] },
    ]);
    for (const name of ['inventory-service', 'notification-service']) {
      const [rule] = find(objects, 'NetworkPolicy', name).spec.ingress;
      expect(rule.from).toEqual([
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/name': 'order-service', 'app.kubernetes.io/instance': 'shop' },
          },
        },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ]);
    }
    const database = find(objects, 'NetworkPolicy', 'shop-postgresql').spec.ingress[0];
    expect(database.from.map((f: K8sObject) => f.podSelector.matchLabels['app.kubernetes.io/name'])).toEqual(
      SERVICES,
    );
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

  it("ships chaosctl's least-privilege RBAC and the dashboard", () => {
    expect(find(objects, 'Role', 'chaosctl').rules).toHaveLength(4);
    const dashboard = find(objects, 'ConfigMap', 'shop-grafana-dashboard');
    expect(dashboard.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(dashboard.data['chaos-platform.json'])).toEqual(
      JSON.parse(readFileSync(join(root, 'grafana/dashboards/chaos-platform.json'), 'utf8')),
    );
  });

  it('renders no ServiceMonitor or PrometheusRule without the Prometheus Operator', () => {
    expect(objects.filter((o) => ['ServiceMonitor', 'PrometheusRule'].includes(o.kind))).toEqual([]);
  });
});

describe('rendered with every option on', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await template('-f', allFeatures, '--api-versions', 'monitoring.coreos.com/v1');
  });

  it('uses the external database secret and no in-chart PostgreSQL', () => {
    expect(objects.filter((o) => o.metadata.name.includes('postgresql'))).toEqual([]);
    const env = find(objects, 'Deployment', 'order-service').spec.template.spec.containers[0].env;
    expect(env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'chaos-platform-database-urls', key: 'order-service' } },
    });
  });

  it('runs the chaos suite as a post-install Job with the chaosctl ServiceAccount', () => {
    const job = find(objects, 'Job', 'shop-chaosctl');
    expect(job.metadata.annotations['helm.sh/hook']).toBe('post-install,post-upgrade');
    expect(job.spec.template.spec.serviceAccountName).toBe('chaosctl');
    expect(job.spec.template.spec.containers[0].image).toBe(
      'registry.example.com/chaos-platform/chaosctl:3f2a9c1',
    );
    expect(job.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining(['run-all', '--namespace', 'shop']),
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

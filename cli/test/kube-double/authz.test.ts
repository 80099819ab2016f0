import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
} from '@kubernetes/client-node';
import { startDouble, statusOf, waitFor } from './fixtures.js';

describe('authentication, authorization and discovery', () => {
  let env: Awaited<ReturnType<typeof startDouble>>;
  let core: CoreV1Api;
  beforeEach(async () => {
    env = await startDouble();
    core = env.config.makeApiClient(CoreV1Api);
  });
  afterEach(() => env.close());

  it('answers a forbidden call with the real 403 Status body', async () => {
    env.kube.forbid({ verb: 'list', group: '', resource: 'pods' });
    const { code, body } = await statusOf(core.listNamespacedPod({ namespace: 'default' }));
    expect(code).toBe(403);
    expect(body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods is forbidden: User "system:serviceaccount:default:chaosctl" cannot list resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    env.kube.forbid({ verb: 'create', group: '', resource: 'pods/eviction' });
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    });
    const eviction = await statusOf(
      core.createNamespacedPodEviction({
        namespace: 'default',
        name: 'web',
        body: { metadata: { name: 'web' } },
      }),
    );
    expect(eviction.body.message).toBe(
      'pods "web" is forbidden: User "system:serviceaccount:default:chaosctl" cannot create resource "pods/eviction" in API group "" in the namespace "default"',
    );
    expect(eviction.body.details).toEqual({ name: 'web', kind: 'pods' });
  });

  it('surfaces a forbidden watch to an informer as an error with statusCode 403', async () => {
    env.kube.forbid({ verb: 'watch', group: '', resource: 'pods' });
    const informer = makeInformer(env.config, '/api/v1/namespaces/default/pods', () =>
      core.listNamespacedPod({ namespace: 'default' }),
    );
    const errors: Array<{ statusCode?: number }> = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();
    await waitFor(() => errors[0]);
    expect(errors[0]?.statusCode).toBe(403);
    await informer.stop();
  });

  it('records every request as RBAC attributes', async () => {
    await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=x' });
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
    });
    await core.deleteNamespacedPod({ namespace: 'default', name: 'web' });
    expect(env.kube.requests).toEqual([
      {
        user: 'system:serviceaccount:default:chaosctl',
        verb: 'list',
        apiGroup: '',
        resource: 'pods',
        subresource: '',
        namespace: 'default',
        name: '',
      },
      {
        user: 'system:serviceaccount:default:chaosctl',
        verb: 'create',
        apiGroup: '',
        resource: 'pods',
        subresource: '',
        namespace: 'default',
        name: '',
      },
      {
        user: 'system:serviceaccount:default:chaosctl',
        verb: 'delete',
        apiGroup: '',
        resource: 'pods',
        subresource: '',
        namespace: 'default',
        name: 'web',
      },
    ]);
  });

  it('writes a kubeconfig with several contexts, each its own user and namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    try {
      const path = env.kube.writeKubeconfig(join(dir, 'config'), [
        { context: 'prod', namespace: 'default', user: 'system:serviceaccount:default:chaosctl' },
        { context: 'staging', namespace: 'staging', user: 'jane' },
      ]);
      const config = new KubeConfig();
      config.loadFromFile(path);
      expect(config.getCurrentContext()).toBe('prod');
      config.setCurrentContext('staging');
      expect(config.getContextObject('staging')?.namespace).toBe('staging');
      await config.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' });
      expect(env.kube.requests.at(-1)?.user).toBe('jane');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers an unknown token with 401', async () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'c', server: env.kube.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'wrong' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const { code } = await statusOf(
      config.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' }),
    );
    expect(code).toBe(401);
  });

  it('serves discovery for the groups present, custom ones once installed', async () => {
    const custom = env.config.makeApiClient(CustomObjectsApi);
    const groups = async () =>
      (await env.config.makeApiClient(ApisApi).getAPIVersions()).groups.map((g) => g.name);
    expect(await groups()).toEqual(expect.arrayContaining(['apps', 'policy']));
    expect(await groups()).not.toContain('chaos-mesh.org');
    const missing = await statusOf(custom.getAPIResources({ group: 'chaos-mesh.org', version: 'v1alpha1' }));
    expect(missing.code).toBe(404);
    env.kube.installChaosMesh();
    expect(await groups()).toContain('chaos-mesh.org');
    const list = await custom.getAPIResources({ group: 'chaos-mesh.org', version: 'v1alpha1' });
    expect(
      list.resources.filter((r) => !r.name.includes('/')).map((r) => [r.kind, r.name, r.namespaced]),
    ).toEqual([
      ['NetworkChaos', 'networkchaos', true],
      ['StressChaos', 'stresschaos', true],
      ['PodChaos', 'podchaos', true],
    ]);
    // KubernetesObjectApi finds kinds through the same discovery.
    const objects = KubernetesObjectApi.makeApiClient(env.config);
    expect((await objects.list('chaos-mesh.org/v1alpha1', 'NetworkChaos', 'default')).items).toEqual([]);
  });
});

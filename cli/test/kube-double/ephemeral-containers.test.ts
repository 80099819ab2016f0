import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1EphemeralContainer,
  type V1Pod,
} from '@kubernetes/client-node';
import { startDouble, statusOf, waitFor } from './fixtures.js';

const hardened = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};
const appPod = (name: string): V1Pod => ({
  metadata: { name },
  spec: { containers: [{ name: 'app', image: 'app:1', securityContext: hardened }] },
});
const netem: V1EphemeralContainer = {
  name: 'netem',
  image: 'chaos-platform/netem:1',
  command: ['sleep', 'infinity'],
  securityContext: { runAsUser: 0, capabilities: { add: ['NET_ADMIN'] } },
};
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

describe('ephemeral containers and Pod Security admission', () => {
  let env: Awaited<ReturnType<typeof startDouble>>;
  let core: CoreV1Api;
  beforeEach(async () => {
    env = await startDouble({ behaviour: { startMs: 100 } });
    core = env.config.makeApiClient(CoreV1Api);
  });
  afterEach(() => env.close());

  async function runningPod(namespace: string, name: string) {
    await core.createNamespacedPod({ namespace, body: appPod(name) });
    return waitFor(async () => {
      const p = await core.readNamespacedPod({ namespace, name });
      return p.status?.phase === 'Running' ? p : undefined;
    });
  }

  it('adds one by strategic-merge PATCH and moves its status waiting -> running -> terminated', async () => {
    env.kube.onEphemeralContainer(
      (_pod, c) => c.name === 'netem',
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { exitCode: 2, message: 'tc: RTNETLINK answers: Operation not permitted' };
      },
    );
    await runningPod('default', 'web');
    const patched = await core.patchNamespacedPodEphemeralcontainers(
      { namespace: 'default', name: 'web', body: { spec: { ephemeralContainers: [netem] } } },
      smp,
    );
    expect(patched.spec?.ephemeralContainers?.map((c) => c.name)).toEqual(['netem']);
    const states: string[] = [];
    await waitFor(async () => {
      const p = await core.readNamespacedPod({ namespace: 'default', name: 'web' });
      const state = p.status?.ephemeralContainerStatuses?.[0]?.state ?? {};
      const name = state.waiting
        ? `waiting:${state.waiting.reason}`
        : state.running
          ? 'running'
          : state.terminated
            ? 'terminated'
            : '';
      if (name && states.at(-1) !== name) states.push(name);
      return state.terminated;
    });
    expect(states).toEqual(['waiting:ContainerCreating', 'running', 'terminated']);
    const p = await core.readNamespacedPod({ namespace: 'default', name: 'web' });
    expect(p.status?.ephemeralContainerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 2,
      reason: 'Error',
      message: 'tc: RTNETLINK answers: Operation not permitted',
    });
    // A second PATCH merges by name: the first container stays.
    const second = await core.patchNamespacedPodEphemeralcontainers(
      {
        namespace: 'default',
        name: 'web',
        body: { spec: { ephemeralContainers: [{ ...netem, name: 'netem-2' }] } },
      },
      smp,
    );
    expect(second.spec?.ephemeralContainers?.map((c) => c.name)).toEqual(['netem', 'netem-2']);
  });

  it('answers a PUT with a stale resourceVersion with 409 Conflict', async () => {
    const pod = await runningPod('default', 'web');
    const body = {
      ...pod,
      spec: { ...pod.spec, containers: pod.spec?.containers ?? [], ephemeralContainers: [netem] },
    };
    await core.replaceNamespacedPodEphemeralcontainers({ namespace: 'default', name: 'web', body });
    const stale = { ...body, spec: { ...body.spec, ephemeralContainers: [{ ...netem, name: 'other' }] } };
    const { code, body: status } = await statusOf(
      core.replaceNamespacedPodEphemeralcontainers({ namespace: 'default', name: 'web', body: stale }),
    );
    expect(code).toBe(409);
    expect(status.message).toBe(
      'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('refuses changing or removing an existing ephemeral container with 422 Invalid', async () => {
    await runningPod('default', 'web');
    await core.patchNamespacedPodEphemeralcontainers(
      { namespace: 'default', name: 'web', body: { spec: { ephemeralContainers: [netem] } } },
      smp,
    );
    const current = await core.readNamespacedPod({ namespace: 'default', name: 'web' });
    const changed = structuredClone(current);
    (changed.spec?.ephemeralContainers ?? [])[0] = { ...netem, command: ['tc', 'qdisc', 'del'] };
    const { code, body } = await statusOf(
      core.replaceNamespacedPodEphemeralcontainers({ namespace: 'default', name: 'web', body: changed }),
    );
    expect(code).toBe(422);
    expect(body).toMatchObject({
      reason: 'Invalid',
      message:
        'Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "netem" may not be changed',
      details: {
        name: 'web',
        kind: 'Pod',
        causes: [{ reason: 'FieldValueForbidden', field: 'spec.ephemeralContainers' }],
      },
    });
    const removed = structuredClone(current);
    if (removed.spec) removed.spec.ephemeralContainers = [];
    const gone = await statusOf(
      core.replaceNamespacedPodEphemeralcontainers({ namespace: 'default', name: 'web', body: removed }),
    );
    expect(gone.code).toBe(422);
    expect(gone.body.message).toContain('existing ephemeral containers "netem" may not be removed');
  });

  it('refuses NET_ADMIN in a baseline namespace with 403, and dryRun=All persists nothing', async () => {
    await core.createNamespace({
      body: { metadata: { name: 'hardened', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } },
    });
    await runningPod('hardened', 'web');
    const refused = await statusOf(
      core.patchNamespacedPodEphemeralcontainers(
        {
          namespace: 'hardened',
          name: 'web',
          dryRun: 'All',
          body: { spec: { ephemeralContainers: [netem] } },
        },
        smp,
      ),
    );
    expect(refused.code).toBe(403);
    expect(refused.body).toMatchObject({
      reason: 'Forbidden',
      message:
        'pods "web" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (container "netem" must not include "NET_ADMIN" in securityContext.capabilities.add)',
    });
    // An allowed container under dryRun=All is answered but not stored.
    const before = await core.readNamespacedPod({ namespace: 'hardened', name: 'web' });
    const allowed = { ...netem, securityContext: hardened };
    const dry = await core.patchNamespacedPodEphemeralcontainers(
      {
        namespace: 'hardened',
        name: 'web',
        dryRun: 'All',
        body: { spec: { ephemeralContainers: [allowed] } },
      },
      smp,
    );
    expect(dry.spec?.ephemeralContainers?.map((c) => c.name)).toEqual(['netem']);
    const after = await core.readNamespacedPod({ namespace: 'hardened', name: 'web' });
    expect(after.spec?.ephemeralContainers ?? []).toEqual([]);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
  });

  it('refuses a pod that violates restricted with every violated check in the message', async () => {
    await core.createNamespace({
      body: { metadata: { name: 'strict', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    const { code, body } = await statusOf(
      core.createNamespacedPod({
        namespace: 'strict',
        body: {
          metadata: { name: 'bad' },
          spec: { hostNetwork: true, containers: [{ name: 'app', image: 'app:1' }] },
        },
      }),
    );
    expect(code).toBe(403);
    expect(body.message).toBe(
      'pods "bad" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    expect((await core.listNamespacedPod({ namespace: 'strict' })).items).toEqual([]);
    // The hardened pod is admitted.
    await core.createNamespacedPod({ namespace: 'strict', body: appPod('good') });
  });
});

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api, PolicyV1Api, type V1Pod, Watch } from '@kubernetes/client-node';
import { deployment, startDouble, statefulSet, statusOf, waitFor } from './fixtures.js';

const ns = 'default';
const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('workloads as the controllers and the kubelet run them', () => {
  let env: Awaited<ReturnType<typeof startDouble>>;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let policy: PolicyV1Api;
  beforeEach(async () => {
    env = await startDouble();
    core = env.config.makeApiClient(CoreV1Api);
    apps = env.config.makeApiClient(AppsV1Api);
    policy = env.config.makeApiClient(PolicyV1Api);
  });
  afterEach(() => env.close());

  const pods = async (app: string) =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/name=${app}` })).items;

  it('chains Deployment -> ReplicaSet -> Pods with owner references, pod-template-hash and status', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orders', 2) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.generation).toBe(1);
    const ready = await waitFor(async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'orders' });
      return d.status?.availableReplicas === 2 ? d : undefined;
    });
    expect(ready.status).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      updatedReplicas: 2,
      observedGeneration: 1,
    });
    const viaStatus = await apps.readNamespacedDeploymentStatus({ namespace: ns, name: 'orders' });
    expect(viaStatus.status?.availableReplicas).toBe(2);
    const [rs] = (await apps.listNamespacedReplicaSet({ namespace: ns })).items;
    const hash = rs?.metadata?.labels?.['pod-template-hash'];
    expect(rs?.metadata?.name).toBe(`orders-${hash}`);
    expect(rs?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      uid: created.metadata?.uid,
      controller: true,
    });
    for (const pod of await pods('orders')) {
      expect(pod.metadata?.name).toMatch(new RegExp(`^orders-${hash}-[a-z0-9]{5}$`));
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        uid: rs?.metadata?.uid,
      });
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt).toBeDefined();
      expect(pod.spec?.terminationGracePeriodSeconds).toBe(30);
    }
    // One global resourceVersion counter across kinds, as etcd's revision.
    const versions = [created, rs, ...(await pods('orders'))].map((o) =>
      Number(o?.metadata?.resourceVersion),
    );
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('keeps a deleted pod Terminating for its drain while the successor becomes Ready first', async () => {
    env.kube.setBehaviour(ns, 'orders', {
      startMs: 100,
      readyMs: 100,
      notReadyAfterMs: 300,
      exitAfterMs: 1200,
    });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orders', 2) });
    await waitFor(async () => (await pods('orders')).filter(isReady).length === 2 || undefined);
    const [victim] = await pods('orders');
    const before = new Set((await pods('orders')).map((p) => p.metadata?.uid));
    const deleted = await core.deleteNamespacedPod({
      namespace: ns,
      name: victim?.metadata?.name as string,
      body: { preconditions: { uid: victim?.metadata?.uid as string } },
    });
    expect(deleted.metadata?.deletionTimestamp).toBeDefined();
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(30);
    // The ReplicaSet does not count the terminating pod: a successor exists while it terminates.
    const successor = await waitFor(async () => {
      const all = await pods('orders');
      const old = all.find((p) => p.metadata?.uid === victim?.metadata?.uid);
      const fresh = all.find((p) => !before.has(p.metadata?.uid));
      return old?.metadata?.deletionTimestamp && fresh ? fresh : undefined;
    }, 1000);
    expect(successor).toBeDefined();
    const readyAt = await waitFor(async () => {
      const all = await pods('orders');
      return all.filter((p) => !p.metadata?.deletionTimestamp).every(isReady) &&
        all.filter((p) => !p.metadata?.deletionTimestamp).length === 2
        ? Date.now()
        : undefined;
    });
    // The old pod is still there, Terminating, when capacity is back.
    const old = (await pods('orders')).find((p) => p.metadata?.uid === victim?.metadata?.uid);
    expect(old?.metadata?.deletionTimestamp).toBeDefined();
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'orders' });
    expect(d.status?.availableReplicas).toBe(2);
    const goneAt = await waitFor(async () =>
      (await pods('orders')).some((p) => p.metadata?.uid === victim?.metadata?.uid) ? undefined : Date.now(),
    );
    expect(goneAt - readyAt).toBeGreaterThan(500);
    for (const pod of await pods('orders')) expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it('turns readiness false after the drain time and SIGKILLs at the grace period', async () => {
    env.kube.setBehaviour(ns, 'slow', { notReadyAfterMs: 100, exitAfterMs: 60_000 });
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('slow', 1, { grace: 1 }) });
    const [pod] = await waitFor(async () => {
      const list = await pods('slow');
      return list.length === 1 && isReady(list[0] as V1Pod) ? list : undefined;
    });
    const name = pod?.metadata?.name as string;
    const seen: Array<{ type: string; pod: V1Pod; at: number }> = [];
    const watch = await new Watch(env.config).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { fieldSelector: `metadata.name=${name}`, resourceVersion: pod?.metadata?.resourceVersion },
      (type, object: V1Pod) => seen.push({ type, pod: object, at: Date.now() }),
      () => {},
    );
    const deletedAt = Date.now();
    await core.deleteNamespacedPod({ namespace: ns, name });
    await waitFor(() => seen.find((e) => e.type === 'DELETED'), 3000);
    watch.abort();
    const notReady = seen.find(
      (e) => e.type === 'MODIFIED' && e.pod.metadata?.deletionTimestamp && !isReady(e.pod),
    );
    const terminated = seen.find((e) => e.pod.status?.containerStatuses?.[0]?.state?.terminated);
    expect(notReady && notReady.at - deletedAt).toBeLessThan(900);
    expect(terminated?.pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'Error',
    });
    expect((terminated?.at ?? 0) - deletedAt).toBeGreaterThanOrEqual(900);
  });

  it('removes a pod at once with gracePeriodSeconds=0', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('crash', 1) });
    const [pod] = await waitFor(async () => ((await pods('crash')).length === 1 ? pods('crash') : undefined));
    const name = pod?.metadata?.name as string;
    await core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
    expect((await statusOf(core.readNamespacedPod({ namespace: ns, name }))).code).toBe(404);
  });

  it('answers a UID precondition mismatch with 409 Conflict', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orders', 1) });
    const [pod] = await waitFor(async () =>
      (await pods('orders')).length === 1 ? pods('orders') : undefined,
    );
    const name = pod?.metadata?.name as string;
    const { code, body } = await statusOf(
      core.deleteNamespacedPod({ namespace: ns, name, body: { preconditions: { uid: 'not-the-uid' } } }),
    );
    expect(code).toBe(409);
    expect(body).toMatchObject({ kind: 'Status', reason: 'Conflict', details: { name, kind: 'pods' } });
    expect(body.message).toBe(
      `Operation cannot be fulfilled on pods "${name}": the UID in the precondition (not-the-uid) does not match the UID in record (${pod?.metadata?.uid}). The object might have been deleted and then recreated`,
    );
  });

  it('recreates a StatefulSet pod with the same name and a new uid only after the old one is gone', async () => {
    env.kube.setBehaviour(ns, 'db', { exitAfterMs: 400 });
    await apps.createNamespacedStatefulSet({ namespace: ns, body: statefulSet('db', 2) });
    const ready = await waitFor(async () => {
      const list = await pods('db');
      return list.length === 2 && list.every(isReady) ? list : undefined;
    });
    expect(ready.map((p) => p.metadata?.name).sort()).toEqual(['db-0', 'db-1']);
    expect(ready[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', controller: true });
    const old = ready.find((p) => p.metadata?.name === 'db-1') as V1Pod;
    await core.deleteNamespacedPod({ namespace: ns, name: 'db-1' });
    // While terminating, no second db-1 exists.
    const during = await core.readNamespacedPod({ namespace: ns, name: 'db-1' });
    expect(during.metadata?.uid).toBe(old.metadata?.uid);
    const successor = await waitFor(async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name: 'db-1' }).catch(() => undefined);
      return p && p.metadata?.uid !== old.metadata?.uid && isReady(p) ? p : undefined;
    });
    expect(successor.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    const sts = await waitFor(async () => {
      const s = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'db' });
      return s.status?.availableReplicas === 2 ? s : undefined;
    });
    expect(sts.status).toMatchObject({ replicas: 2, readyReplicas: 2, observedGeneration: 1 });
  });

  it('keeps Failed (Evicted) pods listed until they are deleted', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orders', 1) });
    const [pod] = await waitFor(async () =>
      (await pods('orders')).length === 1 ? pods('orders') : undefined,
    );
    env.kube.setPodPhase(ns, pod?.metadata?.name as string, {
      phase: 'Failed',
      reason: 'Evicted',
      message: 'low memory',
    });
    const list = await waitFor(async () => {
      const all = await pods('orders');
      return all.length === 2 ? all : undefined;
    });
    expect(list.find((p) => p.status?.phase === 'Failed')?.status?.reason).toBe('Evicted');
  });

  describe('eviction and PodDisruptionBudgets', () => {
    const pdb = (name: string, minAvailable: number) => ({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name },
      spec: { minAvailable, selector: { matchLabels: { 'app.kubernetes.io/name': 'orders' } } },
    });

    it('keeps PDB status up to date and refuses an eviction with 429 when no disruption is allowed', async () => {
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orders', 2) });
      await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: pdb('orders', 2) });
      const budget = await waitFor(async () => {
        const b = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'orders' });
        return b.status?.currentHealthy === 2 ? b : undefined;
      });
      expect(budget.status).toMatchObject({ desiredHealthy: 2, expectedPods: 2, disruptionsAllowed: 0 });
      const [pod] = await pods('orders');
      const name = pod?.metadata?.name as string;
      const { code, body } = await statusOf(
        core.createNamespacedPodEviction({
          namespace: ns,
          name,
          body: { metadata: { name, namespace: ns } },
        }),
      );
      expect(code).toBe(429);
      expect(body).toMatchObject({
        reason: 'TooManyRequests',
        message: "Cannot evict pod as it would violate the pod's disruption budget.",
        details: {
          causes: [
            {
              reason: 'DisruptionBudget',
              message: 'The disruption budget orders needs 2 healthy pods and has 2 currently',
            },
          ],
        },
      });
      expect(
        (await core.readNamespacedPod({ namespace: ns, name })).metadata?.deletionTimestamp,
      ).toBeUndefined();
    });

    it('evicts gracefully (201) when the budget allows it, and 500s with two budgets', async () => {
      await apps.createNamespacedDeployment({ namespace: ns, body: deployment('orders', 2) });
      await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: pdb('orders', 1) });
      await waitFor(async () => {
        const b = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'orders' });
        return b.status?.disruptionsAllowed === 1 || undefined;
      });
      // Successors start slowly here, so the budget stays spent; the evicted pod takes its time
      // to exit, so it is still there to read however slowly this test runs.
      env.kube.setBehaviour(ns, 'orders', { startMs: 5000, exitAfterMs: 4000 });
      const [pod] = await pods('orders');
      const name = pod?.metadata?.name as string;
      await core.createNamespacedPodEviction({
        namespace: ns,
        name,
        body: {
          metadata: { name, namespace: ns },
          deleteOptions: { gracePeriodSeconds: 5, preconditions: { uid: pod?.metadata?.uid as string } },
        },
      });
      const evicted = await core.readNamespacedPod({ namespace: ns, name });
      expect(evicted.metadata?.deletionGracePeriodSeconds).toBe(5);
      // The terminating pod no longer counts as healthy; its successor is still starting.
      const spent = await waitFor(async () => {
        const b = await policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'orders' });
        return b.status?.currentHealthy === 1 ? b : undefined;
      });
      expect(spent.status?.disruptionsAllowed).toBe(0);
      await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: pdb('orders-2', 1) });
      const other = (await pods('orders')).find((p) => !p.metadata?.deletionTimestamp && isReady(p)) as V1Pod;
      const { code, body } = await statusOf(
        core.createNamespacedPodEviction({
          namespace: ns,
          name: other.metadata?.name as string,
          body: { metadata: { name: other.metadata?.name as string, namespace: ns } },
        }),
      );
      expect(code).toBe(500);
      expect(body.message).toBe(
        'Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
    });
  });
});

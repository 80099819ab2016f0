import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Pod, Watch } from '@kubernetes/client-node';
import { deployment, startDouble, statusOf, waitFor } from './fixtures.js';

const ns = 'default';
const target = { group: 'chaos-mesh.org', version: 'v1alpha1', namespace: ns, plural: 'networkchaos' };
const delay = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'chaos-mesh.org/v1alpha1',
  kind: 'NetworkChaos',
  metadata: { name },
  spec: {
    action: 'delay',
    mode: 'all',
    selector: { namespaces: [ns], labelSelectors: { 'app.kubernetes.io/name': 'orders' } },
    delay: { latency: '300ms' },
    duration: '5m',
    ...extra,
  },
});
// biome-ignore lint/suspicious/noExplicitAny: custom objects are untyped JSON in client-node.
type Chaos = { metadata: Record<string, any>; status?: Record<string, any> };
const condition = (chaos: Chaos, type: string) =>
  (chaos.status?.conditions ?? []).find((c: { type: string }) => c.type === type)?.status;

describe('Chaos Mesh custom resources and controller simulation', () => {
  let env: Awaited<ReturnType<typeof startDouble>>;
  let custom: CustomObjectsApi;
  const read = (name: string) => custom.getNamespacedCustomObject({ ...target, name }) as Promise<Chaos>;
  beforeEach(async () => {
    env = await startDouble();
    custom = env.config.makeApiClient(CustomObjectsApi);
    await env.config
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace: ns, body: deployment('orders', 2) });
    const core = env.config.makeApiClient(CoreV1Api);
    await waitFor(async () => {
      const pods = (await core.listNamespacedPod({ namespace: ns })).items as V1Pod[];
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running') ? true : undefined;
    });
  });
  afterEach(() => env.close());

  it('reaches AllInjected, then on delete AllRecovered, and the object goes once its finalizer is removed', async () => {
    env.kube.installChaosMesh({ injectDelayMs: 150, recoverDelayMs: 150 });
    const early: Chaos[] = [];
    const first = await new Watch(env.config).watch(
      '/apis/chaos-mesh.org/v1alpha1/namespaces/default/networkchaos',
      {},
      (_type, object: Chaos) => early.push(object),
      () => {},
    );
    await custom.createNamespacedCustomObject({ ...target, body: delay('latency') });
    const injected = await waitFor(async () => {
      const chaos = await read('latency');
      return condition(chaos, 'AllInjected') === 'True' && condition(chaos, 'Selected') === 'True'
        ? chaos
        : undefined;
    });
    expect(injected.metadata.finalizers).toEqual(['chaos-mesh/records']);
    expect(injected.status?.experiment.desiredPhase).toBe('Run');
    expect(injected.status?.experiment.containerRecords).toHaveLength(2);
    expect(injected.status?.experiment.containerRecords[0]).toMatchObject({
      id: expect.stringMatching(/^default\/orders-/),
      selectorKey: '.',
      phase: 'Injected',
      injectedCount: 1,
      recoveredCount: 0,
    });
    expect(condition(injected, 'AllRecovered')).toBe('False');
    // Before the targets are selected, AllInjected is vacuously True: only Selected tells.
    first.abort();
    const beforeSelection = early.find((o) => o.status?.conditions);
    expect(beforeSelection?.status?.conditions).toEqual([
      { type: 'Selected', status: 'False' },
      { type: 'AllInjected', status: 'True' },
      { type: 'AllRecovered', status: 'True' },
      { type: 'Paused', status: 'False' },
    ]);
    const events: Array<{ type: string; object: Chaos }> = [];
    const watch = await new Watch(env.config).watch(
      '/apis/chaos-mesh.org/v1alpha1/namespaces/default/networkchaos',
      { resourceVersion: injected.metadata.resourceVersion },
      (type, object: Chaos) => events.push({ type, object }),
      () => {},
    );
    await custom.deleteNamespacedCustomObject({ ...target, name: 'latency' });
    const deleting = await read('latency');
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    await waitFor(() => events.find((e) => e.type === 'DELETED'));
    watch.abort();
    const recovered = events.findIndex((e) => condition(e.object, 'AllRecovered') === 'True');
    expect(recovered).toBeGreaterThanOrEqual(0);
    expect(events[recovered]?.object.metadata.finalizers).toEqual(['chaos-mesh/records']);
    expect(events.at(-1)?.type).toBe('DELETED');
    expect((await statusOf(read('latency'))).code).toBe(404);
  });

  it('marks AllRecovered when the duration elapses, keeping the object', async () => {
    env.kube.installChaosMesh({ injectDelayMs: 50, recoverDelayMs: 50 });
    await custom.createNamespacedCustomObject({ ...target, body: delay('short', { duration: '400ms' }) });
    await waitFor(async () => (condition(await read('short'), 'AllInjected') === 'True' ? true : undefined));
    const recovered = await waitFor(async () => {
      const chaos = await read('short');
      return condition(chaos, 'AllRecovered') === 'True' && chaos.status?.experiment.desiredPhase === 'Stop'
        ? chaos
        : undefined;
    });
    expect(recovered.status?.experiment.containerRecords[0]).toMatchObject({
      phase: 'Not Injected',
      recoveredCount: 1,
    });
    expect(recovered.metadata.finalizers).toEqual(['chaos-mesh/records']);
  });

  it('keeps AllInjected False with the failure in the records when injection fails', async () => {
    env.kube.installChaosMesh({
      injectDelayMs: 50,
      failInjection: () => 'unable to set tc rules: operation not permitted',
    });
    await custom.createNamespacedCustomObject({ ...target, body: delay('broken') });
    const failed = await waitFor(async () => {
      const chaos = await read('broken');
      return chaos.status?.experiment.containerRecords?.[0]?.events?.length ? chaos : undefined;
    });
    expect(condition(failed, 'Selected')).toBe('True');
    expect(condition(failed, 'AllInjected')).toBe('False');
    expect(failed.status?.experiment.containerRecords[0]).toMatchObject({
      phase: 'Not Injected',
      events: [
        { type: 'Failed', operation: 'Apply', message: 'unable to set tc rules: operation not permitted' },
      ],
    });
  });

  it('validates custom objects against a loaded CRD schema with 422', async () => {
    env.kube.installChaosMesh();
    env.kube.loadCrd({
      spec: {
        group: 'chaos-mesh.org',
        names: { kind: 'NetworkChaos', plural: 'networkchaos' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1alpha1',
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    required: ['action', 'selector', 'mode'],
                    properties: { action: { type: 'string', enum: ['netem', 'delay', 'loss'] } },
                  },
                },
              },
            },
          },
        ],
      },
    });
    const { code, body } = await statusOf(
      custom.createNamespacedCustomObject({ ...target, body: delay('bad', { action: 'slow' }) }),
    );
    expect(code).toBe(422);
    expect(body.message).toBe(
      'NetworkChaos.chaos-mesh.org "bad" is invalid: spec.action: Unsupported value: "slow": supported values: "netem", "delay", "loss"',
    );
  });
});

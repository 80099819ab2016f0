import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { startDouble, statusOf, waitFor } from './fixtures.js';
import { CLIENT_NODE_WATCH_INACTIVITY_MS } from './index.js';

const ns = 'default';
const pod = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});

describe('watch semantics', () => {
  let env: Awaited<ReturnType<typeof startDouble>>;
  let core: CoreV1Api;
  beforeEach(async () => {
    env = await startDouble({ bookmarkIntervalMs: 100 });
    core = env.config.makeApiClient(CoreV1Api);
  });
  afterEach(() => env.close());

  /** Starts a raw client-node watch and collects its events. */
  async function collect(query: Record<string, string | number | boolean>) {
    // biome-ignore lint/suspicious/noExplicitAny: watch events carry untyped JSON objects.
    const events: Array<{ type: string; object: any }> = [];
    let done: unknown = 'open';
    const controller = await new Watch(env.config).watch(
      `/api/v1/namespaces/${ns}/pods`,
      query,
      (type, object) => events.push({ type, object }),
      (error) => {
        done = error ?? null;
      },
    );
    return { events, done: () => done, stop: () => controller.abort() };
  }

  it('sends ADDED for existing objects without resourceVersion or with "0", and only later events from an RV', async () => {
    const first = await core.createNamespacedPod({ namespace: ns, body: pod('a') });
    await core.createNamespacedPod({ namespace: ns, body: pod('b') });
    for (const query of [{}, { resourceVersion: '0' }] as Array<Record<string, string>>) {
      const w = await collect(query);
      await waitFor(() => w.events.length >= 2 || undefined);
      expect(w.events.slice(0, 2).map((e) => [e.type, e.object.metadata.name])).toEqual([
        ['ADDED', 'a'],
        ['ADDED', 'b'],
      ]);
      w.stop();
    }
    const w = await collect({ resourceVersion: first.metadata?.resourceVersion as string });
    await waitFor(() => w.events.some((e) => e.object.metadata.name === 'b') || undefined);
    expect(w.events.some((e) => e.object.metadata.name === 'a' && e.type === 'ADDED')).toBe(false);
    w.stop();
  });

  it('answers a too-old resourceVersion with an ERROR event carrying 410 Expired, then ends the stream', async () => {
    const created = await core.createNamespacedPod({ namespace: ns, body: pod('a') });
    env.kube.expireHistory();
    const w = await collect({ resourceVersion: created.metadata?.resourceVersion as string });
    await waitFor(() => (w.done() !== 'open' ? true : undefined));
    expect(w.events).toHaveLength(1);
    expect(w.events[0]?.type).toBe('ERROR');
    expect(w.events[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(w.events[0]?.object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('sends BOOKMARK events when asked and ends the stream after timeoutSeconds', async () => {
    const w = await collect({ allowWatchBookmarks: true, timeoutSeconds: 1 });
    await waitFor(() => w.events.find((e) => e.type === 'BOOKMARK'));
    const bookmark = w.events.find((e) => e.type === 'BOOKMARK');
    expect(bookmark?.object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.any(String) },
    });
    const started = Date.now();
    await waitFor(() => (w.done() !== 'open' ? true : undefined), 3000);
    expect(w.done()).toBeNull();
    expect(Date.now() - started).toBeLessThan(1500);
    const quiet = await collect({});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(quiet.events.filter((e) => e.type === 'BOOKMARK')).toHaveLength(0);
    quiet.stop();
  });

  it('parses equality and set-based label selectors, and refuses a malformed one with 400', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('web', { app: 'web', tier: 'front' }) });
    await core.createNamespacedPod({ namespace: ns, body: pod('api', { app: 'api', tier: 'back' }) });
    await core.createNamespacedPod({ namespace: ns, body: pod('db', { app: 'db', legacy: 'yes' }) });
    const names = async (labelSelector: string) =>
      (await core.listNamespacedPod({ namespace: ns, labelSelector })).items
        .map((p) => p.metadata?.name)
        .sort();
    expect(await names('app in (web,api)')).toEqual(['api', 'web']);
    expect(await names('app notin (web)')).toEqual(['api', 'db']);
    expect(await names('tier')).toEqual(['api', 'web']);
    expect(await names('!legacy')).toEqual(['api', 'web']);
    expect(await names('tier!=front')).toEqual(['api', 'db']);
    expect(await names('app=web,tier==front')).toEqual(['web']);
    const { code, body } = await statusOf(
      core.listNamespacedPod({ namespace: ns, labelSelector: 'app in (web' }),
    );
    expect(code).toBe(400);
    expect(body).toMatchObject({
      reason: 'BadRequest',
      message: "unable to parse requirement: found '', expected: ',' or ')'",
    });
  });

  it('shows an object leaving a label-selector watch as DELETED', async () => {
    const created = await core.createNamespacedPod({ namespace: ns, body: pod('web', { app: 'web' }) });
    const w = await collect({
      labelSelector: 'app=web',
      resourceVersion: created.metadata?.resourceVersion as string,
    });
    await core.patchNamespacedPod(
      { namespace: ns, name: 'web', body: { metadata: { labels: { app: 'other' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const event = await waitFor(() => w.events.find((e) => e.type === 'DELETED'));
    expect(event.object.metadata).toMatchObject({ name: 'web', labels: { app: 'other' } });
    // The object still exists: it only left the selection.
    expect((await core.readNamespacedPod({ namespace: ns, name: 'web' })).metadata?.labels).toEqual({
      app: 'other',
    });
    w.stop();
  });

  describe('an informer (makeInformer) recovers', () => {
    async function informer() {
      const inf = makeInformer(env.config, `/api/v1/namespaces/${ns}/pods`, () =>
        core.listNamespacedPod({ namespace: ns }),
      );
      const errors: unknown[] = [];
      inf.on('error', (e) => errors.push(e));
      await inf.start();
      return {
        inf,
        errors,
        names: () =>
          inf
            .list(ns)
            .map((p) => p.metadata?.name)
            .sort(),
      };
    }
    const lists = () => env.kube.requests.filter((r) => r.verb === 'list' && r.resource === 'pods').length;
    const watches = () => env.kube.requests.filter((r) => r.verb === 'watch' && r.resource === 'pods').length;

    it('after a server-side close', async () => {
      const { inf, errors, names } = await informer();
      await waitFor(() => env.kube.openWatches === 1 || undefined);
      env.kube.closeWatches();
      await core.createNamespacedPod({ namespace: ns, body: pod('after-close') });
      await waitFor(() => names().includes('after-close') || undefined, 5000);
      expect(watches()).toBe(2);
      expect(errors).toEqual([]);
      await inf.stop();
    });

    it('after a 410 ERROR event mid-stream, by listing again', async () => {
      await core.createNamespacedPod({ namespace: ns, body: pod('before') });
      const { inf, errors, names } = await informer();
      await waitFor(() => env.kube.openWatches === 1 || undefined);
      expect(lists()).toBe(1);
      env.kube.expireHistory({ notifyOpenWatches: true });
      await core.createNamespacedPod({ namespace: ns, body: pod('after-expiry') });
      await waitFor(() => names().includes('after-expiry') || undefined, 5000);
      expect(lists()).toBe(2);
      expect(names()).toEqual(['after-expiry', 'before']);
      expect(errors).toEqual([]);
      await inf.stop();
    });

    it(
      'after a silence longer than client-node’s inactivity timeout',
      async () => {
        const { inf, names } = await informer();
        await waitFor(() => env.kube.openWatches === 1 || undefined);
        env.kube.silence(true);
        const silentFrom = Date.now();
        await core.createNamespacedPod({ namespace: ns, body: pod('during-silence') });
        await waitFor(() => (watches() === 2 ? true : undefined), CLIENT_NODE_WATCH_INACTIVITY_MS + 5000);
        expect(Date.now() - silentFrom).toBeGreaterThanOrEqual(CLIENT_NODE_WATCH_INACTIVITY_MS - 100);
        expect(names()).not.toContain('during-silence');
        env.kube.silence(false);
        await waitFor(() => names().includes('during-silence') || undefined, 5000);
        await inf.stop();
      },
      CLIENT_NODE_WATCH_INACTIVITY_MS + 20_000,
    );
  });
});

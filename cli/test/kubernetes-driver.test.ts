// The kubernetes driver against a TEST DOUBLE of the API server (kube-api-server.ts): no cluster
// can run here. The double speaks the real REST and watch protocol over HTTP, and the driver talks
// to it through @kubernetes/client-node exactly as it would talk to a cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { clientNodeApi } from '../src/drivers/kubernetes/kube-api.js';
import { KubernetesDriver } from '../src/drivers/kubernetes/kubernetes-driver.js';
import { FakeKubeApi } from './kube-api-server.js';

let api: FakeKubeApi;
let dir: string;
let driver: KubernetesDriver | undefined;

beforeEach(async () => {
  api = await new FakeKubeApi().start();
  api.addDeployment('shop', 'order-service', 2);
  api.addDeployment('shop', 'inventory-service', 2);
  dir = mkdtempSync(join(tmpdir(), 'kube-'));
});

afterEach(async () => {
  driver?.close();
  driver = undefined;
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

const connect = (namespace = 'shop') => {
  driver = new KubernetesDriver({
    api: clientNodeApi(api.writeKubeconfig(join(dir, 'kubeconfig'))),
    namespace,
  });
  return driver;
};

const until = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('condition not met in 5 s');
};

describe('KubernetesDriver', () => {
  it('lists replicas by label and follows a killed pod to its ready successor through the watch', async () => {
    const k8s = connect();
    const before = await until(async () => (await k8s.replicas('order-service')).length === 2).then(() =>
      k8s.replicas('order-service'),
    );
    expect(before.every((r) => r.ready)).toBe(true);
    expect(await k8s.replicas('inventory-service')).toHaveLength(2);

    const [killed] = await k8s.killReplicas('order-service', 1);
    expect(api.deleted).toEqual([killed]);
    await until(async () => !(await k8s.replicas('order-service')).some((r) => r.id === killed));
    await until(async () => {
      const now = await k8s.replicas('order-service');
      return now.length === 2 && now.every((r) => r.ready);
    });
    const after = (await k8s.replicas('order-service')).map((r) => r.id);
    expect(after).not.toContain(killed);
  });

  it('injects latency from an ephemeral container with NET_ADMIN that ends itself, and clears it on remove', async () => {
    const k8s = connect();
    const fault = await k8s.addLatency('inventory-service', 300, 50, 30_000);
    expect(api.ephemeral).toHaveLength(2);
    const [first] = api.ephemeral;
    expect(first?.container).toMatchObject({
      image: 'nicolaka/netshoot:v0.13',
      securityContext: {
        capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
        allowPrivilegeEscalation: false,
      },
    });
    const script = ((first?.container.command ?? []) as string[]).join(' ');
    expect(script).toContain('tc qdisc add dev eth0 root netem delay 300ms 50ms && sleep 30');
    expect(script).toMatch(/trap 'tc qdisc del dev eth0 root/);

    await fault.remove();
    await fault.remove();
    const clears = api.ephemeral.filter((e) => (e.container.name as string).startsWith('chaos-netem-clear'));
    expect(clears).toHaveLength(2);
    expect(((clears[0]?.container.command ?? []) as string[]).join(' ')).toContain(
      'tc qdisc del dev eth0 root',
    );
  });

  it('burns CPU in the target container image and reads back the CPU time from the log', async () => {
    const k8s = connect();
    const burn = await k8s.stressCpu('order-service', 1, 100);
    expect(api.ephemeral).toHaveLength(2);
    for (const { container } of api.ephemeral) {
      api.logs.set(container.name as string, '95.5\n');
      expect(container).toMatchObject({
        image: 'chaos-platform/order-service:test',
        targetContainerName: 'order-service',
      });
      expect((container.command as string[])[0]).toBe('node');
    }
    expect(await burn.burnedMs()).toBe(191);
  });

  it('warns before breaking pods without a readiness probe or a disruption budget', async () => {
    api.addDeployment('shop', 'notification-service', 1, { budget: false, readinessProbe: false });
    const k8s = connect();
    expect(await k8s.preflight('order-service')).toEqual([]);
    expect(await k8s.preflight('notification-service')).toEqual([
      'notification-service pods have no readiness probe: traffic will reach replicas that are not ready',
      'notification-service has no PodDisruptionBudget',
    ]);
  });

  it('refuses protected namespaces', () => {
    expect(() => connect('kube-system')).toThrow(
      /refusing to run chaos in the protected namespace kube-system/,
    );
  });

  it('reports an unreachable API server as such', async () => {
    const k8s = connect();
    await api.stop();
    await expect(k8s.replicas('order-service')).rejects.toMatchObject({ exitCode: 3 });
  });
});

// Shared by the double's own tests: a started double, a client-node KubeConfig on it, manifests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig, type V1Deployment, type V1StatefulSet } from '@kubernetes/client-node';
import { KubeDouble, type KubeDoubleOptions } from './index.js';

export async function startDouble(options?: KubeDoubleOptions) {
  const kube = await new KubeDouble(options).start();
  const dir = mkdtempSync(join(tmpdir(), 'kube-double-'));
  const config = new KubeConfig();
  config.loadFromFile(kube.writeKubeconfig(join(dir, 'kubeconfig')));
  return {
    kube,
    config,
    async close() {
      await kube.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (bounded: `timeoutMs`, every `intervalMs`). */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The Status body of a failed client-node call. */
// biome-ignore lint/suspicious/noExplicitAny: a Status body is read field by field in assertions.
export async function statusOf(call: Promise<unknown>): Promise<{ code: number; body: Record<string, any> }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      const body = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
      return { code: error.code, body };
    }
    throw error;
  }
  throw new Error('the call succeeded');
}

const container = (app: string, probe: boolean) => ({
  name: app,
  image: `chaos-platform/${app}:1.0.0`,
  ...(probe ? { readinessProbe: { httpGet: { path: '/readyz', port: 5000 } } } : {}),
});

export function deployment(name: string, replicas: number, { probe = true, grace = 30 } = {}): V1Deployment {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { terminationGracePeriodSeconds: grace, containers: [container(name, probe)] },
      },
    },
  };
}

export function statefulSet(name: string, replicas: number): V1StatefulSet {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, labels },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container(name, true)] } },
    },
  };
}

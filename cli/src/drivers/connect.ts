// The driver and the backend a run acts through, from the flags. The Kubernetes ones are loaded
// only when asked for: @kubernetes/client-node is most of chaosctl's start-up, and --help or a
// local run never needs it.
import { UsageError } from '../errors.js';
import type { Backend } from '../faults/fault.js';
import type { Driver } from './driver.js';
import type { KubernetesDriver } from './kubernetes/kubernetes-driver.js';
import type { LocalDriver } from './local/local-driver.js';

export type BackendChoice = 'auto' | 'local' | 'kubernetes' | 'chaos-mesh';

export interface ConnectOptions {
  driver: 'local' | 'kubernetes';
  backend: BackendChoice;
  stateDir: string;
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  netemImage?: string;
  urls: Record<string, string>;
  selectors: Record<string, string>;
}

export async function createDriver(opts: ConnectOptions): Promise<Driver> {
  if (opts.driver === 'local') {
    const { LocalDriver } = await import('./local/local-driver.js');
    return new LocalDriver(opts.stateDir);
  }
  const [{ loadCluster }, { KubeClient }, { KubernetesDriver }] = await Promise.all([
    import('./kubernetes/cluster.js'),
    import('./kubernetes/kube-client.js'),
    import('./kubernetes/kubernetes-driver.js'),
  ]);
  const cluster = loadCluster({
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    namespace: opts.namespace,
  });
  return new KubernetesDriver(new KubeClient(cluster), { urls: opts.urls, selectors: opts.selectors });
}

export async function createBackend(driver: Driver, opts: ConnectOptions): Promise<Backend> {
  const choice = opts.backend;
  if (driver.name === 'local') {
    if (choice !== 'auto' && choice !== 'local')
      throw new UsageError(`--backend ${choice} needs --driver kubernetes`);
    const { LocalBackend } = await import('../backends/local/index.js');
    return new LocalBackend(driver as LocalDriver);
  }
  if (choice === 'local') throw new UsageError('--backend local needs --driver local');
  const [{ KubernetesBackend }, { ChaosMeshBackend, chaosMeshInstalled }] = await Promise.all([
    import('../backends/kubernetes/index.js'),
    import('../backends/chaos-mesh/index.js'),
  ]);
  const kube = driver as KubernetesDriver;
  if (choice === 'kubernetes') return new KubernetesBackend(kube, opts.netemImage);
  const installed = await chaosMeshInstalled(kube.client);
  if (choice === 'chaos-mesh' && !installed)
    throw new UsageError(
      '--backend chaos-mesh: the cluster does not serve chaos-mesh.org/v1alpha1 NetworkChaos and StressChaos (is Chaos Mesh installed?)',
    );
  return installed ? new ChaosMeshBackend(kube) : new KubernetesBackend(kube, opts.netemImage);
}

// The driver and the backend a run acts through, from the flags. The Kubernetes driver (and each
// fault's code for a backend) is loaded only when asked for: @kubernetes/client-node is most of chaosctl's start-up, and --help or a
// local run never needs it.

import { Backend } from '../backends/backend.js';
import { UsageError } from '../errors.js';
import { chaosMeshKinds } from '../faults/registry.js';
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
  return new KubernetesDriver(new KubeClient(cluster));
}

export async function createBackend(driver: Driver, opts: ConnectOptions): Promise<Backend> {
  const choice = opts.backend;
  if (driver.name === 'local') {
    if (choice !== 'auto' && choice !== 'local')
      throw new UsageError(`--backend ${choice} needs --driver kubernetes`);
    return new Backend('local', driver as LocalDriver);
  }
  if (choice === 'local') throw new UsageError('--backend local needs --driver local');
  const kube = driver as KubernetesDriver;
  const native = new Backend('kubernetes', kube, { agentImage: opts.netemImage });
  if (choice === 'kubernetes') return native;
  const { chaosMeshInstalled } = await import('../backends/chaos-mesh/index.js');
  const kinds = chaosMeshKinds();
  const installed = await chaosMeshInstalled(kube.client, kinds);
  if (choice === 'chaos-mesh' && !installed)
    throw new UsageError(
      `--backend chaos-mesh: the cluster does not serve chaos-mesh.org/v1alpha1 ${kinds.join(', ')} (is Chaos Mesh installed?)`,
    );
  return installed ? new Backend('chaos-mesh', kube) : native;
}

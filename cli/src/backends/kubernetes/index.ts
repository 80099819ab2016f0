// The native Kubernetes backend: nothing to install in the cluster. pod-kill through the API
// (delete or evict), cpu-stress through pods/exec in the target container, network-delay through
// an agent ephemeral container (needs a namespace whose Pod Security level admits NET_ADMIN).
import { targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import type { ExperimentSpec } from '../../experiments/spec.js';
import type { Backend, Injection } from '../../faults/fault.js';
import { KubeCpuStress } from './cpu-stress.js';
import { KubeNetworkDelay } from './network-delay.js';
import { KubePodKill } from './pod-kill.js';

export class KubernetesBackend implements Backend {
  readonly name = 'kubernetes';
  constructor(
    private readonly driver: KubernetesDriver,
    private readonly agentImage?: string,
  ) {}

  injection(spec: ExperimentSpec): Injection {
    const target = targetOf(spec);
    switch (spec.type) {
      case 'pod-kill':
        return new KubePodKill(this.driver, target, spec);
      case 'network-delay':
        return new KubeNetworkDelay(this.driver, target, spec, this.agentImage);
      case 'cpu-stress':
        return new KubeCpuStress(this.driver, target, spec);
    }
  }
}

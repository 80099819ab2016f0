// container-kill through Chaos Mesh: a PodChaos with action container-kill naming the victim pods
// and the container (api/v1alpha1/podchaos_types.go: `containerNames`, selector `pods`); Chaos Mesh
// kills it through the container runtime and the kubelet restarts it in place. The evidence is the
// same as natively: a higher restartCount in the same pod.
import { MeshInjection } from '../../backends/chaos-mesh/index.js';
import { chaosObject } from '../../backends/chaos-mesh/objects.js';
import { targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { chooseVictims, describeKilled, type Killed, restartedInPlace } from './kubernetes.js';
import { type ContainerKillSpec, seedOf } from './spec.js';

/** A PodChaos container-kill of these containers in these pods (the victims chaosctl chose). */
export function podChaos(opts: {
  name: string;
  namespace: string;
  pods: string[];
  containerNames: string[];
}) {
  return chaosObject('PodChaos', opts.name, opts.namespace, 60_000, {
    action: 'container-kill',
    mode: 'all',
    selector: { pods: { [opts.namespace]: opts.pods } },
    containerNames: opts.containerNames,
  });
}

export const injection = (driver: KubernetesDriver, spec: ContainerKillSpec): Injection =>
  new MeshContainerKill(driver, spec);

class MeshContainerKill extends MeshInjection {
  private readonly seed: number;
  private killed: Killed[] = [];

  constructor(
    driver: KubernetesDriver,
    private readonly spec: ContainerKillSpec,
  ) {
    super(driver, targetOf(spec));
    this.seed = seedOf(spec);
  }

  protected async object() {
    const namespace = this.driver.client.namespace;
    const victims = this.killed.length
      ? this.killed
      : await chooseVictims(this.driver, this.target, this.spec, this.seed);
    return podChaos({
      name: this.name,
      namespace,
      pods: victims.map((k) => k.replica.name),
      containerNames: [...new Set(victims.map((k) => k.container))],
    });
  }

  async plan() {
    return `a PodChaos (container-kill) on ${this.spec.count ?? 1} ready pod(s) matching ${this.driver.selector(this.target)}, chosen at random (seed ${this.seed})`;
  }

  override async inject(): Promise<Injected> {
    this.killed = await chooseVictims(this.driver, this.target, this.spec, this.seed);
    const injected = await super.inject();
    return {
      summary: `${injected.summary}: ${describeKilled(this.killed)} (seed ${this.seed})`,
      victims: this.killed.map((k) => k.replica),
    };
  }

  verify(): Promise<Verification> {
    return restartedInPlace(this.driver, this.target, this.killed);
  }
}

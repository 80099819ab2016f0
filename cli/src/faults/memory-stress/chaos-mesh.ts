// memory-stress through Chaos Mesh: a StressChaos with a memory stressor in the target container's
// cgroup (api/v1alpha1/stresschaos_types.go MemoryStressor: workers, size as bytes or a percentage
// of the container's memory). The evidence is read from the cgroup, as natively.
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshInjection } from '../../backends/chaos-mesh/index.js';
import { stressChaos } from '../../backends/chaos-mesh/objects.js';
import { targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { targetContainer } from '../../drivers/kubernetes/target-container.js';
import { parseDuration } from '../../experiments/duration.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { type Held, memoryEffect, targetsOf } from './kubernetes.js';
import { amountOf, DEFAULT_SIZE, type MemoryStressSpec } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: MemoryStressSpec): Injection =>
  new MeshMemoryStress(driver, spec);

class MeshMemoryStress extends MeshInjection {
  private held: Held[] = [];

  constructor(
    driver: KubernetesDriver,
    private readonly spec: MemoryStressSpec,
  ) {
    super(driver, targetOf(spec));
  }

  protected async object() {
    const [pod] = await this.driver.pods(this.target);
    const size =
      this.spec.share === undefined
        ? (this.spec.size ?? DEFAULT_SIZE)
        : `${Math.round(this.spec.share * 100)}%`;
    return stressChaos({
      name: this.name,
      target: { namespace: this.driver.client.namespace, selector: this.driver.selector(this.target) },
      ...(pod ? { containerNames: [this.spec.container ?? targetContainer(pod, this.target.service)] } : {}),
      stressors: { memory: { workers: 1, size } },
      durationMs: parseDuration(this.spec.duration) + 30_000,
    });
  }

  async plan() {
    return `a StressChaos holding ${amountOf(this.spec)} in the target container of ${this.driver.selector(this.target)}`;
  }

  override async inject(): Promise<Injected> {
    this.held = await targetsOf(this.driver, this.target, this.spec);
    return super.inject();
  }

  async verify(): Promise<Verification> {
    await sleep(Math.min(3000, parseDuration(this.spec.duration) / 2));
    return memoryEffect(this.driver, this.target, this.held);
  }
}

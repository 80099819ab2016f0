// cpu-stress through Chaos Mesh: a StressChaos with CPU stressors in the target container's cgroup.
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshInjection } from '../../backends/chaos-mesh/index.js';
import { stressChaos } from '../../backends/chaos-mesh/objects.js';
import { type Target, targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { targetContainer } from '../../drivers/kubernetes/target-container.js';
import { parseDuration } from '../../experiments/duration.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { type CpuSample, cpuEffect, readCpu } from './cgroup-cpu.js';
import { cpuLimited } from './kubernetes.js';
import { type CpuStressSpec, DEFAULT_WORKERS } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: CpuStressSpec): Injection =>
  new MeshCpuStress(driver, targetOf(spec), spec);

class MeshCpuStress extends MeshInjection {
  private before: Array<{ pod: string; container: string; sample: CpuSample }> = [];
  private limited = true;
  constructor(
    driver: KubernetesDriver,
    target: Target,
    private readonly spec: CpuStressSpec,
  ) {
    super(driver, target);
  }

  protected async object() {
    const [pod] = await this.driver.pods(this.target);
    return stressChaos({
      name: this.name,
      target: { namespace: this.driver.client.namespace, selector: this.driver.selector(this.target) },
      ...(pod ? { containerNames: [targetContainer(pod, this.target.service)] } : {}),
      stressors: { cpu: { workers: this.spec.workers ?? DEFAULT_WORKERS, load: 100 } },
      durationMs: parseDuration(this.spec.duration) + 30_000,
    });
  }

  async plan() {
    return `a StressChaos with ${this.spec.workers ?? DEFAULT_WORKERS} CPU workers in the target container of ${this.driver.selector(this.target)}`;
  }

  override async preflight(): Promise<string[]> {
    this.limited = cpuLimited(await this.driver.pods(this.target), this.target.service);
    const warnings = this.limited
      ? []
      : [`${this.target.service} has no CPU limit: the stressors compete with the whole node`];
    return [...warnings, ...(await super.preflight())];
  }

  override async inject(): Promise<Injected> {
    const pods = await this.driver.pods(this.target);
    this.before = await Promise.all(
      pods.map(async (pod) => {
        const name = pod.metadata?.name ?? '';
        const container = targetContainer(pod, this.target.service);
        return { pod: name, container, sample: await readCpu(this.driver.client, name, container) };
      }),
    );
    return super.inject();
  }

  async verify(): Promise<Verification> {
    await sleep(Math.min(3000, parseDuration(this.spec.duration) / 2));
    const pairs = await Promise.all(
      this.before.map(async (b) => ({
        pod: b.pod,
        before: b.sample,
        after: await readCpu(this.driver.client, b.pod, b.container),
      })),
    );
    return cpuEffect(pairs, this.limited);
  }
}

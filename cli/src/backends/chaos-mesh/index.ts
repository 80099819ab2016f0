// The Chaos Mesh backend (used when its CRDs are served, or with --backend chaos-mesh):
// network-delay as a NetworkChaos scoped to the callers' traffic, cpu-stress as a StressChaos in
// the target container's cgroup. A fault counts as injected when Chaos Mesh reports AllInjected,
// and as removed when the deleted object is gone (Chaos Mesh keeps its finalizer until every
// record is recovered). Each object carries a duration, so a crashed chaosctl leaves nothing on.
// pod-kill goes through the API directly (the native backend), where victims and their successors
// can be followed by UID.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Target } from '../../drivers/driver.js';
import { targetOf } from '../../drivers/driver.js';
import type { KubeClient } from '../../drivers/kubernetes/kube-client.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../experiments/duration.js';
import type { ExperimentSpec, SpecOf } from '../../experiments/spec.js';
import { DEFAULT_WORKERS } from '../../faults/cpu-stress.js';
import type { Backend, Injected, Injection, Verification } from '../../faults/fault.js';
import { callersOf, delayOf } from '../../faults/network-delay.js';
import { type CpuSample, cpuEffect, readCpu } from '../kubernetes/cgroup-cpu.js';
import { cpuLimited, targetContainer } from '../kubernetes/cpu-stress.js';
import { KubernetesBackend } from '../kubernetes/index.js';
import { delayLanded, probeLatency } from '../probe-latency.js';
import { CHAOS_MESH, networkChaos, PLURALS, stressChaos } from './objects.js';

const WAIT_MS = 60_000;
const POLL_MS = 500;

/** Whether the cluster serves Chaos Mesh's NetworkChaos and StressChaos. */
export async function chaosMeshInstalled(client: KubeClient): Promise<boolean> {
  const served = await Promise.all(
    Object.values(PLURALS).map((plural) => client.serves(CHAOS_MESH.group, CHAOS_MESH.version, plural)),
  );
  return served.every(Boolean);
}

export class ChaosMeshBackend implements Backend {
  readonly name = 'chaos-mesh';
  private readonly native: KubernetesBackend;
  constructor(private readonly driver: KubernetesDriver) {
    this.native = new KubernetesBackend(driver);
  }

  injection(spec: ExperimentSpec): Injection {
    const target = targetOf(spec);
    switch (spec.type) {
      case 'pod-kill':
        return this.native.injection(spec);
      case 'network-delay':
        return new MeshNetworkDelay(this.driver, target, spec);
      case 'cpu-stress':
        return new MeshCpuStress(this.driver, target, spec);
    }
  }
}

type ChaosObject = ReturnType<typeof networkChaos> | ReturnType<typeof stressChaos>;
type Condition = { type?: string; status?: string; reason?: string; message?: string };

/** Creating, waiting for and deleting one Chaos Mesh object. */
abstract class MeshInjection implements Injection {
  protected readonly name = `chaosctl-${randomBytes(4).toString('hex')}`;
  private created = false;
  private removed = false;

  constructor(
    protected readonly driver: KubernetesDriver,
    protected readonly target: Target,
  ) {}

  protected abstract object(): Promise<ChaosObject>;
  abstract plan(): Promise<string>;
  abstract verify(): Promise<Verification>;

  protected plural(object: ChaosObject): string {
    return PLURALS[object.kind as keyof typeof PLURALS];
  }

  /** A server-side dry run: the CRD schema, RBAC and admission webhooks answer before any traffic. */
  async preflight(): Promise<string[]> {
    const object = await this.object();
    try {
      await this.driver.client.createCustom(
        CHAOS_MESH.group,
        CHAOS_MESH.version,
        this.plural(object),
        object,
        true,
      );
    } catch (error) {
      throw new UsageError(`the API server would refuse the ${object.kind}: ${(error as Error).message}`);
    }
    return [];
  }

  async inject(): Promise<Injected> {
    const object = await this.object();
    const { client } = this.driver;
    const plural = this.plural(object);
    await client.createCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, object);
    this.created = true;
    const deadline = Date.now() + WAIT_MS;
    let conditions: Condition[] = [];
    while (Date.now() < deadline) {
      const now = await client.getCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, this.name);
      conditions = (now?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
      // Chaos Mesh reports AllInjected True before it has selected anything (no records yet), so
      // Selected must be True too (api/v1alpha1 status conditions, controllers/condition).
      const holds = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
      if (holds('Selected') && holds('AllInjected'))
        return { summary: `${object.kind} ${this.name} injected (${describe(conditions)})` };
      await sleep(POLL_MS);
    }
    throw new Error(
      `Chaos Mesh did not report ${object.kind} ${this.name} AllInjected within ${WAIT_MS / 1000} s (${describe(conditions) || 'no conditions'})`,
    );
  }

  async remove(): Promise<void> {
    if (!this.created || this.removed) return;
    this.removed = true;
    const object = await this.object();
    const { client } = this.driver;
    const plural = this.plural(object);
    await client.deleteCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, this.name);
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      if (!(await client.getCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, this.name))) return;
      await sleep(POLL_MS);
    }
    throw new Error(
      `${object.kind} ${this.name} was still there ${WAIT_MS / 1000} s after its deletion (not recovered)`,
    );
  }
}

class MeshNetworkDelay extends MeshInjection {
  private baselineMs = 0;
  constructor(
    driver: KubernetesDriver,
    target: Target,
    private readonly spec: SpecOf<'network-delay'>,
  ) {
    super(driver, target);
  }

  protected async object() {
    const { latencyMs, jitterMs, durationMs } = delayOf(this.spec);
    const namespace = this.driver.client.namespace;
    // chaosctl's own pod is a caller too when it runs in the cluster: its view is the evidence.
    const callers = [...callersOf(this.spec), ...(this.driver.inCluster ? ['chaosctl'] : [])];
    return networkChaos({
      name: this.name,
      target: { namespace, selector: this.driver.selector(this.target) },
      callers: { namespace, selector: `app.kubernetes.io/name in (${callers.join(',')})` },
      latencyMs,
      jitterMs,
      // A margin past ours: chaosctl deletes it at the end; the duration is only the safety net.
      durationMs: durationMs + 30_000,
    });
  }

  async plan() {
    return `a NetworkChaos delaying ${this.driver.selector(this.target)}'s packets to ${callersOf(this.spec).join(', ')} by ${this.spec.latency}`;
  }

  override async preflight(): Promise<string[]> {
    if (!this.driver.inCluster)
      throw new UsageError(
        `a NetworkChaos delays only in-cluster callers: from outside (--url, a port-forward) its effect on ${this.target.service} cannot be observed; run chaosctl as the chart's Job, or use --backend kubernetes`,
      );
    return super.preflight();
  }

  override async inject(): Promise<Injected> {
    this.baselineMs = await probeLatency(await this.driver.url(this.target.service));
    return super.inject();
  }

  async verify(): Promise<Verification> {
    const { latencyMs } = delayOf(this.spec);
    const { landed, added } = delayLanded(
      this.baselineMs,
      await probeLatency(await this.driver.url(this.target.service)),
      latencyMs,
    );
    return {
      landed,
      evidence: `from this pod ${this.target.service} answered ${added} ms slower (${latencyMs} ms injected)`,
    };
  }
}

class MeshCpuStress extends MeshInjection {
  private before: Array<{ pod: string; container: string; sample: CpuSample }> = [];
  private limited = true;
  constructor(
    driver: KubernetesDriver,
    target: Target,
    private readonly spec: SpecOf<'cpu-stress'>,
  ) {
    super(driver, target);
  }

  protected async object() {
    const [pod] = await this.driver.pods(this.target);
    return stressChaos({
      name: this.name,
      target: { namespace: this.driver.client.namespace, selector: this.driver.selector(this.target) },
      ...(pod ? { containerNames: [targetContainer(pod, this.target.service)] } : {}),
      workers: this.spec.workers ?? DEFAULT_WORKERS,
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

const describe = (conditions: Condition[]) =>
  conditions.map((c) => `${c.type}=${c.status}${c.message ? ` ${c.message}` : ''}`).join(', ');

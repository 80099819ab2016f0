// The kubernetes driver: sees a target's pods through an informer (pod-tracker.ts), identifies
// replicas by UID, measures capacity against the owning Deployment's or StatefulSet's desired
// replicas, and resolves where traffic reaches a service from its Service object.
import type { V1Pod } from '@kubernetes/client-node';
import { UsageError } from '../../errors.js';
import type { Capacity, Driver, Replica, Target } from '../driver.js';
import { connect } from './cluster.js';
import type { KubeClient, WorkloadKind } from './kube-client.js';
import type { PodTracker } from './pod-tracker.js';

/** Namespaces chaos must never touch. */
const PROTECTED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

const defaultSelector = (service: string) => `app.kubernetes.io/name=${service}`;

export class KubernetesDriver implements Driver {
  readonly name = 'kubernetes';
  private readonly trackers = new Map<string, Promise<PodTracker>>();
  private readonly desired = new Map<string, Promise<number | undefined>>();
  /** The suite's targets, by name: where traffic enters them (a fault's spec names only its pods). */
  private readonly targets = new Map<string, Target>();

  constructor(readonly client: KubeClient) {
    if (PROTECTED_NAMESPACES.includes(client.namespace)) {
      throw new UsageError(`refusing to run chaos in the protected namespace ${client.namespace}`);
    }
  }

  get inCluster(): boolean {
    return this.client.cluster.inCluster;
  }

  /**
   * Reachable, credentials accepted, and the platform's pods can be listed and watched: a refusal
   * here is one line before any experiment starts (and before any report is written).
   */
  async connect(targets: readonly Target[]): Promise<string> {
    for (const target of targets) this.targets.set(target.service, target);
    const where = await connect(this.client.cluster);
    await Promise.all(targets.map((target) => this.tracker(target)));
    return where;
  }

  selector(target: Target): string {
    return target.selector ?? defaultSelector(target.service);
  }

  /**
   * The target's url (or --url) wins; else its Service's port (the one named, else one named http,
   * else the first), by the Service's short in-cluster name (no cluster domain assumed).
   */
  async url(named: Target): Promise<string> {
    const target = { ...this.targets.get(named.service), ...named };
    const given = target.url;
    if (given) return given.replace(/\/$/, '');
    const service = target.serviceName ?? target.service;
    const svc = await this.client.service(service);
    if (!svc)
      throw new UsageError(
        `no Service ${service} in namespace ${this.client.namespace}: give target ${target.service} a url (or pass --url ${target.service}=http://host:port)`,
      );
    const ports = svc.spec?.ports ?? [];
    const port =
      target.port === undefined
        ? (ports.find((p) => p.name === 'http') ?? ports[0])
        : ports.find((p) => p.port === target.port || p.name === target.port);
    if (!port)
      throw new UsageError(
        `Service ${service} exposes ${target.port === undefined ? 'no port' : `no port ${target.port}`}`,
      );
    if (!this.inCluster) {
      throw new UsageError(
        `${service} is reached at ${service}.${this.client.namespace}.svc:${port.port} only inside the cluster: run chaosctl as the chart's Job, or give target ${target.service} a url (--url ${target.service}=http://127.0.0.1:<port> with kubectl port-forward svc/${service} <port>:${port.port})`,
      );
    }
    return `http://${service}.${this.client.namespace}.svc:${port.port}`;
  }

  async pods(target: Target): Promise<V1Pod[]> {
    return (await this.tracker(target)).pods();
  }

  /** The pods that serve: Ready and not terminating, as a Service's endpoints hold them. */
  async readyPods(target: Target): Promise<V1Pod[]> {
    return (await this.pods(target)).filter((pod) => replicaOf(pod).ready);
  }

  async replicas(target: Target): Promise<Replica[]> {
    return (await this.pods(target)).map(replicaOf);
  }

  async capacity(target: Target): Promise<Capacity> {
    const pods = await this.pods(target);
    const replicas = pods.map(replicaOf);
    const desired = await this.desiredReplicas(target, pods);
    return {
      desired: desired ?? replicas.filter((r) => !r.terminating).length,
      available: replicas.filter((r) => r.ready && !r.terminating).length,
    };
  }

  async waitFor(
    target: Target,
    until: (replicas: Replica[], capacity: Capacity) => boolean,
    deadline: number,
  ): Promise<boolean> {
    const tracker = await this.tracker(target);
    // Bounded: one check per change, and the deadline ends it.
    for (let checks = 0; checks < 100_000; checks++) {
      if (until(await this.replicas(target), await this.capacity(target))) return true;
      if (Date.now() >= deadline) return false;
      await tracker.changed(deadline);
    }
    return false;
  }

  async preflight(target: Target): Promise<string[]> {
    const pods = await this.pods(target);
    if (pods.length === 0)
      throw new UsageError(`no pods match ${this.selector(target)} in namespace ${this.client.namespace}`);
    const warnings: string[] = [];
    if (pods.some((pod) => (pod.spec?.containers ?? []).some((c) => c.readinessProbe === undefined))) {
      warnings.push(
        `${target.service} pods have no readiness probe: traffic will reach replicas that are not ready`,
      );
    }
    return warnings;
  }

  close(): void {
    for (const tracker of this.trackers.values())
      void tracker.then(
        (t) => t.stop(),
        () => {},
      );
    this.trackers.clear();
  }

  private tracker(target: Target): Promise<PodTracker> {
    const selector = this.selector(target);
    let tracker = this.trackers.get(selector);
    if (!tracker) {
      const created = this.client.trackPods(selector);
      tracker = created.start().then(() => created);
      this.trackers.set(selector, tracker);
      tracker.catch(() => this.trackers.delete(selector));
    }
    return tracker;
  }

  /** Desired replicas of the owning workload: --workload, or found through the pods' ownerReferences. */
  private desiredReplicas(target: Target, pods: V1Pod[]): Promise<number | undefined> {
    const key = `${target.service}/${this.selector(target)}/${target.workload ?? ''}`;
    let desired = this.desired.get(key);
    if (!desired) {
      desired = this.readDesired(target, pods);
      this.desired.set(key, desired);
      desired.catch(() => this.desired.delete(key));
    }
    return desired;
  }

  /** Forgets cached desired counts (a new experiment reads them again). */
  refresh(): void {
    this.desired.clear();
  }

  private async readDesired(target: Target, pods: V1Pod[]): Promise<number | undefined> {
    const owner = target.workload ? parseWorkload(target.workload) : await this.ownerOf(pods);
    if (!owner) return undefined;
    const workload = await this.client.workload(owner.kind, owner.name);
    if (!workload)
      throw new UsageError(`no ${owner.kind} ${owner.name} in namespace ${this.client.namespace}`);
    return workload.spec?.replicas ?? 1;
  }

  private async ownerOf(pods: V1Pod[]): Promise<{ kind: WorkloadKind; name: string } | undefined> {
    const ref = pods.flatMap((pod) => pod.metadata?.ownerReferences ?? []).find((r) => r.controller);
    if (!ref) return undefined;
    if (ref.kind === 'StatefulSet') return { kind: 'StatefulSet', name: ref.name };
    if (ref.kind !== 'ReplicaSet') return undefined;
    const rs = await this.client.replicaSet(ref.name);
    const deployment = rs?.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
    return deployment ? { kind: 'Deployment', name: deployment.name } : undefined;
  }
}

function parseWorkload(text: string): { kind: WorkloadKind; name: string } {
  const [kind, name] = text.split('/');
  if (!name || (kind !== 'deployment' && kind !== 'statefulset'))
    throw new UsageError(`--workload must be deployment/<name> or statefulset/<name> (got '${text}')`);
  return { kind: kind === 'deployment' ? 'Deployment' : 'StatefulSet', name };
}

function replicaOf(pod: V1Pod): Replica {
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const terminating = Boolean(pod.metadata?.deletionTimestamp);
  return {
    id: pod.metadata?.uid ?? '',
    name: pod.metadata?.name ?? '',
    ready: ready && !terminating,
    terminating,
    restarts: (pod.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
  };
}

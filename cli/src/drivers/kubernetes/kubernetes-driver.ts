// The kubernetes driver. pod-kill deletes pods and a watch follows their replacement; network
// latency and CPU burn run in ephemeral containers whose own commands end the fault at its deadline,
// so nothing outlives the experiment even if chaosctl dies.
import { randomBytes } from 'node:crypto';
import type { V1EphemeralContainer } from '@kubernetes/client-node';
import { UnreachableError, UsageError } from '../../errors.js';
import { CPU_BURNER, reportedCpuMs } from '../cpu-burner.js';
import type { CpuBurn, Driver, InjectedFault, Replica, ServiceName } from '../driver.js';
import type { KubeApi, PodInfo } from './kube-api.js';

/** Namespaces chaos must never touch. */
export const PROTECTED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

const PORTS: Record<ServiceName, number> = {
  'order-service': 5000,
  'inventory-service': 5001,
  'notification-service': 5002,
};

export interface KubernetesDriverOptions {
  api: KubeApi;
  namespace: string;
  /** Label selector of a service's pods; default app.kubernetes.io/name=<service>. */
  selector?: string;
  /** Where traffic reaches each service (port-forward); default the in-cluster Service DNS name. */
  urls?: Partial<Record<ServiceName, string>>;
  /** Image with `tc` for network faults. */
  netemImage?: string;
}

const hardened = {
  allowPrivilegeEscalation: false,
  runAsNonRoot: false,
  seccompProfile: { type: 'RuntimeDefault' },
};

export class KubernetesDriver implements Driver {
  readonly name = 'kubernetes';
  private readonly watched = new Map<ServiceName, { pods: PodInfo[]; stop: () => void }>();

  constructor(private readonly opts: KubernetesDriverOptions) {
    if (PROTECTED_NAMESPACES.includes(opts.namespace)) {
      throw new UsageError(`refusing to run chaos in the protected namespace ${opts.namespace}`);
    }
  }

  private selector(service: ServiceName) {
    return this.opts.selector ?? `app.kubernetes.io/name=${service}`;
  }

  async url(service: ServiceName): Promise<string> {
    return (
      this.opts.urls?.[service] ??
      `http://${service}.${this.opts.namespace}.svc.cluster.local:${PORTS[service]}`
    );
  }

  /** Served from a watch on the service's pods, started on first use. */
  async replicas(service: ServiceName): Promise<Replica[]> {
    let entry = this.watched.get(service);
    if (!entry) {
      const state = { pods: [] as PodInfo[], stop: () => {} };
      try {
        state.stop = await this.opts.api.watchPods(this.opts.namespace, this.selector(service), (pods) => {
          state.pods = pods;
        });
      } catch (error) {
        throw new UnreachableError(
          `cannot watch ${service} pods in ${this.opts.namespace}: ${(error as Error).message}`,
        );
      }
      entry = state;
      this.watched.set(service, entry);
    }
    return entry.pods.map(({ name, ready, restarts }) => ({ id: name, ready, restarts }));
  }

  async preflight(service: ServiceName): Promise<string[]> {
    const pods = await this.opts.api.listPods(this.opts.namespace, this.selector(service));
    const warnings: string[] = [];
    if (pods.some((pod) => !pod.hasReadinessProbe)) {
      warnings.push(
        `${service} pods have no readiness probe: traffic will reach replicas that are not ready`,
      );
    }
    const budgets = await this.opts.api.disruptionBudgets(this.opts.namespace).catch(() => []);
    const covered = pods.every((pod) =>
      budgets.some((labels) => Object.entries(labels).every(([key, value]) => pod.labels[key] === value)),
    );
    if (pods.length > 0 && !covered) warnings.push(`${service} has no PodDisruptionBudget`);
    return warnings;
  }

  async killReplicas(service: ServiceName, count: number): Promise<string[]> {
    const ready = (await this.opts.api.listPods(this.opts.namespace, this.selector(service))).filter(
      (p) => p.ready,
    );
    const victims = ready.slice(0, count).map((pod) => pod.name);
    for (const name of victims) await this.opts.api.deletePod(this.opts.namespace, name);
    return victims;
  }

  async addLatency(
    service: ServiceName,
    latencyMs: number,
    jitterMs: number,
    durationMs: number,
  ): Promise<InjectedFault> {
    const pods = await this.readyPods(service);
    const seconds = Math.ceil(durationMs / 1000);
    const clear = 'tc qdisc del dev eth0 root 2>/dev/null || true';
    // The container removes its own qdisc when the duration is over, or when it is stopped.
    const inject = `trap '${clear}' EXIT TERM INT; tc qdisc add dev eth0 root netem delay ${latencyMs}ms ${jitterMs}ms && sleep ${seconds}`;
    await Promise.all(pods.map((pod) => this.ephemeral(pod.name, 'chaos-netem', ['sh', '-c', inject], true)));
    let removed = false;
    return {
      remove: async () => {
        if (removed) return;
        removed = true;
        // Ephemeral containers cannot be deleted: another one, in the same network namespace, clears the qdisc.
        await Promise.all(
          pods.map((pod) => this.ephemeral(pod.name, 'chaos-netem-clear', ['sh', '-c', clear], true)),
        );
      },
    };
  }

  async stressCpu(service: ServiceName, workers: number, durationMs: number): Promise<CpuBurn> {
    const pods = await this.readyPods(service);
    const started = await Promise.all(
      pods.flatMap((pod) =>
        Array.from({ length: workers }, () =>
          this.ephemeral(
            pod.name,
            'chaos-cpu',
            ['node', '-e', CPU_BURNER, String(durationMs)],
            false,
            pod.containers[0],
          ).then((container) => ({ pod: pod.name, container })),
        ),
      ),
    );
    return {
      // The burners end at their own deadline; there is nothing to take back early but waiting.
      remove: async () => {},
      burnedMs: async () => {
        await new Promise((resolve) => setTimeout(resolve, durationMs + 1000));
        const logs = await Promise.all(
          started.map(({ pod, container }) =>
            this.opts.api.containerLog(this.opts.namespace, pod, container).catch(() => '0'),
          ),
        );
        return logs.reduce((sum, log) => sum + reportedCpuMs(log), 0);
      },
    };
  }

  close(): void {
    for (const { stop } of this.watched.values()) stop();
    this.watched.clear();
  }

  private async readyPods(service: ServiceName): Promise<PodInfo[]> {
    const pods = (await this.opts.api.listPods(this.opts.namespace, this.selector(service))).filter(
      (p) => p.ready,
    );
    if (pods.length === 0) throw new UnreachableError(`no ready ${service} pods in ${this.opts.namespace}`);
    return pods;
  }

  private async ephemeral(
    pod: string,
    prefix: string,
    command: string[],
    netAdmin: boolean,
    target?: { name: string; image: string },
  ): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    const container: V1EphemeralContainer = {
      name,
      image: target?.image ?? this.opts.netemImage ?? 'nicolaka/netshoot:v0.13',
      command,
      ...(target ? { targetContainerName: target.name } : {}),
      securityContext: netAdmin
        ? { ...hardened, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } }
        : { ...hardened, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
    };
    await this.opts.api.addEphemeralContainer(this.opts.namespace, pod, container);
    return name;
  }
}

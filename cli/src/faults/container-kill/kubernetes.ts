// container-kill on Kubernetes, native: `kill 1` exec'd in the target container ends its main
// process (PID 1 of the container's PID namespace: the kernel ignores an unhandled signal there, so
// SIGTERM, which a service handles by draining and exiting, not SIGKILL). The kubelet then restarts
// the container in place (restartPolicy Always): restartCount rises, the pod keeps its name, UID
// and IP (pkg/kubelet/kuberuntime computePodActions).
import type { V1Pod } from '@kubernetes/client-node';
import { type Replica, type Target, targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { targetContainer } from '../../drivers/kubernetes/target-container.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { pickVictims } from '../victims.js';
import { type ContainerKillSpec, seedOf } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: ContainerKillSpec): Injection =>
  new KubeContainerKill(driver, targetOf(spec), spec);

/** A victim as it was when killed: the evidence compares the pod after with it. */
export interface Killed {
  replica: Replica;
  container: string;
  restartCount: number;
  podIP: string;
}

/** Chooses the victims among the ready pods and records each one's container, restart count and IP. */
export async function chooseVictims(
  driver: KubernetesDriver,
  target: Target,
  spec: ContainerKillSpec,
  seed: number,
): Promise<Killed[]> {
  const ready = (await driver.replicas(target)).filter((r) => r.ready && !r.terminating);
  const pods = await driver.pods(target);
  return pickVictims(ready, spec.count ?? 1, seed).map((replica) => {
    const pod = pods.find((p) => p.metadata?.name === replica.name) as V1Pod;
    const container = spec.container ?? targetContainer(pod, target.service);
    return {
      replica,
      container,
      restartCount: restartCountOf(pod, container),
      podIP: pod.status?.podIP ?? '',
    };
  });
}

export const describeKilled = (killed: readonly Killed[]) =>
  killed.map((k) => `${k.replica.name}/${k.container}`).join(', ');

/** Landed when each victim's container restarted in place: a higher restartCount, the same pod and IP. */
export async function restartedInPlace(
  driver: KubernetesDriver,
  target: Target,
  killed: readonly Killed[],
): Promise<Verification> {
  await driver.waitFor(
    target,
    (replicas) =>
      killed.every((k) => replicas.some((r) => r.id === k.replica.id && r.restarts > k.replica.restarts)),
    Date.now() + 30_000,
  );
  const pods = await driver.pods(target);
  const seen = killed.map((k) => {
    const pod = pods.find((p) => p.metadata?.uid === k.replica.id);
    const status = pod?.status?.containerStatuses?.find((c) => c.name === k.container);
    const count = status?.restartCount ?? k.restartCount;
    const reason = status?.lastState?.terminated?.reason;
    return {
      inPlace: Boolean(pod) && count > k.restartCount && pod?.status?.podIP === k.podIP,
      text: `${k.replica.name}/${k.container} restartCount ${k.restartCount} -> ${count}${reason ? ` (last: ${reason})` : ''}, ${pod ? `same pod, IP ${pod.status?.podIP}` : 'pod gone'}`,
    };
  });
  const landed = seen.every((s) => s.inPlace);
  return {
    landed,
    evidence: `${landed ? 'restarted in place' : 'not restarted in place within 30 s'}: ${seen.map((s) => s.text).join('; ')}`,
  };
}

class KubeContainerKill implements Injection {
  private readonly seed: number;
  private killed: Killed[] = [];

  constructor(
    private readonly driver: KubernetesDriver,
    private readonly target: Target,
    private readonly spec: ContainerKillSpec,
  ) {
    this.seed = seedOf(spec);
  }

  async plan(): Promise<string> {
    return `exec \`kill 1\` in the ${this.spec.container ?? 'target'} container of ${this.spec.count ?? 1} ready pod(s) matching ${this.driver.selector(this.target)}, chosen at random (seed ${this.seed})`;
  }

  async preflight(): Promise<string[]> {
    const pods = await this.driver.pods(this.target);
    const never = pods.filter((p) => p.spec?.restartPolicy === 'Never').map((p) => p.metadata?.name);
    return never.length ? [`${never.join(', ')}: restartPolicy Never, a killed container stays dead`] : [];
  }

  async inject(): Promise<Injected> {
    this.killed = await chooseVictims(this.driver, this.target, this.spec, this.seed);
    for (const victim of this.killed) {
      const result = await this.driver.client.exec(victim.replica.name, victim.container, [
        'sh',
        '-c',
        'kill 1',
      ]);
      if (result.exitCode !== 0)
        throw new Error(
          `kill 1 failed in ${victim.replica.name}/${victim.container} (exit ${result.exitCode}): ${result.stderr.trim().slice(0, 200)}`,
        );
    }
    return {
      summary: `killed the main process of ${describeKilled(this.killed)} (seed ${this.seed})`,
      victims: this.killed.map((k) => k.replica),
    };
  }

  verify(): Promise<Verification> {
    return restartedInPlace(this.driver, this.target, this.killed);
  }

  async remove(): Promise<void> {}
}

const restartCountOf = (pod: V1Pod, container: string) =>
  pod.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;

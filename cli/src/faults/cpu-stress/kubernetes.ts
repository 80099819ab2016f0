// cpu-stress on Kubernetes, native: the burners run INSIDE the target container through pods/exec,
// so they share its cgroup and consume its own CPU limit (an ephemeral container would get a cgroup
// of its own, outside the pod's limit computation). Each burner ends at its own deadline
// (`timeout`), so nothing outlives a crashed chaosctl; removal kills them early through a pid file.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { type Target, targetOf } from '../../drivers/driver.js';
import type { ExecResult } from '../../drivers/kubernetes/kube-client.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { targetContainer } from '../../drivers/kubernetes/target-container.js';
import { parseDuration } from '../../experiments/duration.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { type CpuSample, cpuCores, cpuEffect, readCpu } from './cgroup-cpu.js';
import { type CpuStressSpec, DEFAULT_WORKERS } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: CpuStressSpec): Injection =>
  new KubeCpuStress(driver, targetOf(spec), spec);

/** The target container's CPU limit in CPUs, when it has one. */
function cpuLimitOf(pod: V1Pod, service: string): number | undefined {
  const container = pod.spec?.containers.find((c) => c.name === targetContainer(pod, service));
  return cpuCores(container?.resources?.limits?.cpu);
}

/** Whether the target container of every pod has a CPU limit, which CPU stress then eats into. */
export function cpuLimited(pods: readonly V1Pod[], service: string): boolean {
  return pods.every((pod) =>
    Boolean(
      pod.spec?.containers.find((c) => c.name === targetContainer(pod, service))?.resources?.limits?.cpu,
    ),
  );
}

function burnScript(id: string, workers: number, seconds: number): string[] {
  // POSIX sh and coreutils' timeout: present in Debian-based images such as ours.
  const pidFile = `/tmp/chaosctl-cpu-${id}`;
  return [
    'sh',
    '-c',
    `i=0; while [ $i -lt ${workers} ]; do timeout ${seconds} sh -c 'while :; do :; done' & echo $! >> ${pidFile} 2>/dev/null; i=$((i+1)); done; wait; rm -f ${pidFile}`,
  ];
}

const stopScript = (id: string) => [
  'sh',
  '-c',
  `f=/tmp/chaosctl-cpu-${id}; if [ -f $f ]; then kill $(cat $f) 2>/dev/null; rm -f $f; fi; true`,
];

class KubeCpuStress implements Injection {
  private readonly id = randomBytes(4).toString('hex');
  private running: Array<{
    pod: string;
    container: string;
    limitCores?: number;
    done: Promise<unknown>;
    /** Set when the burner's exec ended: it should only end at its deadline or on removal. */
    ended?: ExecResult | Error;
  }> = [];
  private removed = false;
  private limited = true;

  constructor(
    private readonly driver: KubernetesDriver,
    private readonly target: Target,
    private readonly spec: CpuStressSpec,
  ) {}

  private get workers() {
    return this.spec.workers ?? DEFAULT_WORKERS;
  }

  async plan(): Promise<string> {
    return `exec ${this.workers} shell busy-loops in the target container of each ready pod matching ${this.driver.selector(this.target)}, each ending after ${this.spec.duration}`;
  }

  async preflight(): Promise<string[]> {
    this.limited = cpuLimited(await this.driver.pods(this.target), this.target.service);
    return this.limited
      ? []
      : [
          `${this.target.service} has no CPU limit: the burners compete with the whole node, and the target feels them only when the node's CPUs are busy`,
        ];
  }

  async inject(): Promise<Injected> {
    const pods = await this.driver.readyPods(this.target);
    const seconds = Math.ceil(parseDuration(this.spec.duration) / 1000);
    const { client } = this.driver;
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      const container = targetContainer(pod, this.target.service);
      // Interrupted (Ctrl-C) while injecting: removal has begun and must not race new burners.
      if (this.removed) break;
      const done = client
        .exec(name, container, burnScript(this.id, this.workers, seconds), (seconds + 30) * 1000)
        .catch((e) => e);
      const entry: (typeof this.running)[number] = {
        pod: name,
        container,
        limitCores: cpuLimitOf(pod, this.target.service),
        done,
      };
      void done.then((outcome) => {
        entry.ended = outcome as ExecResult | Error;
      });
      this.running.push(entry);
    }
    return {
      summary: `${this.workers} burners in ${this.running.map((r) => `${r.pod}/${r.container}`).join(', ')}`,
    };
  }

  /**
   * The effect is measured over a window that starts once the burners run (an exec takes its time
   * to start on a busy node), not from before the injection.
   */
  async verify(): Promise<Verification> {
    const durationMs = parseDuration(this.spec.duration);
    await sleep(Math.min(1000, durationMs / 4));
    const before = await Promise.all(
      this.running.map((r) => readCpu(this.driver.client, r.pod, r.container)),
    );
    await sleep(Math.min(2000, durationMs / 4));
    // A burner ends only at its deadline or on removal: one that already ended could not run there
    // (no sh or timeout in the image, exec refused), whatever its exit code (`wait` returns 0).
    const failed = this.running.find((r) => r.ended !== undefined);
    if (failed) {
      const why =
        failed.ended instanceof Error
          ? failed.ended.message
          : `exit ${failed.ended?.exitCode}: ${(failed.ended?.stderr ?? '').trim().slice(0, 200)}`;
      return {
        landed: false,
        evidence: `the burners could not run in ${failed.pod}/${failed.container} (${why})`,
      };
    }
    const pairs = await Promise.all(
      this.running.map(async (r, i) => ({
        pod: r.pod,
        limitCores: r.limitCores,
        before: before[i] as CpuSample,
        after: await readCpu(this.driver.client, r.pod, r.container),
      })),
    );
    return cpuEffect(pairs, this.limited);
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    // A burner whose exec was still starting when the stop ran had no pid file to be killed by:
    // stop again until every burner's exec has ended, for 5 s at most (each ends at its deadline).
    const deadline = Date.now() + 5000;
    for (let pending = this.running; pending.length > 0 && Date.now() < deadline; ) {
      await Promise.allSettled(
        pending.map((r) => this.driver.client.exec(r.pod, r.container, stopScript(this.id), 10_000)),
      );
      await Promise.race([Promise.allSettled(pending.map((r) => r.done)), sleep(500)]);
      pending = pending.filter((r) => r.ended === undefined);
    }
  }
}

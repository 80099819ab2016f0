// memory-stress on Kubernetes, native: a Node.js holder exec'd INSIDE the target container, so the
// memory is charged to its cgroup and counts against its own limit. It ends at its own deadline
// (`timeout`), so nothing outlives a crashed chaosctl; removal ends it early through a pid file.
// The evidence is the cgroup's usage, or an OOM kill (the cgroup's oom_kill count, or the container
// restarted with reason OOMKilled), reported as such.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Target, targetOf } from '../../drivers/driver.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { targetContainer } from '../../drivers/kubernetes/target-container.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../experiments/duration.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { type MemorySample, readMemory } from './cgroup-memory.js';
import { HOLDER } from './holder.js';
import { amountOf, bytesOf, DEFAULT_SIZE, type MemoryStressSpec, mb } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: MemoryStressSpec): Injection =>
  new KubeMemoryStress(driver, targetOf(spec), spec);

/** A target container: its pod, its name and its cgroup when the fault began. */
export interface Held {
  pod: string;
  uid: string;
  container: string;
  before: MemorySample;
  bytes: number;
  restarts: number;
}

/** Each ready pod's target container, its cgroup now and the bytes to hold there. */
export async function targetsOf(
  driver: KubernetesDriver,
  target: Target,
  spec: MemoryStressSpec,
): Promise<Held[]> {
  const pods = await driver.readyPods(target);
  return Promise.all(
    pods.map(async (pod) => {
      const name = pod.metadata?.name ?? '';
      const container = spec.container ?? targetContainer(pod, target.service);
      const before = await readMemory(driver.client, name, container);
      if (spec.share !== undefined && before.limit === null)
        throw new UsageError(`--share needs a memory limit: ${name}/${container} has none (give --size)`);
      const bytes =
        spec.share === undefined
          ? bytesOf(spec.size ?? DEFAULT_SIZE)
          : Math.floor((before.limit as number) * spec.share);
      const restarts = pod.status?.containerStatuses?.find((c) => c.name === container)?.restartCount ?? 0;
      return { pod: name, uid: pod.metadata?.uid ?? '', container, before, bytes, restarts };
    }),
  );
}

/** The observed effect: usage up by at least half of what was held, or an OOM kill, per container. */
export async function memoryEffect(
  driver: KubernetesDriver,
  target: Target,
  held: readonly Held[],
): Promise<Verification> {
  const pods = await driver.pods(target);
  const seen = await Promise.all(
    held.map(async (h) => {
      const pod = pods.find((p) => p.metadata?.uid === h.uid);
      const status = pod?.status?.containerStatuses?.find((c) => c.name === h.container);
      if (status && status.restartCount > h.restarts && status.lastState?.terminated?.reason === 'OOMKilled')
        return {
          landed: true,
          text: `${h.pod}/${h.container} OOM killed (restartCount ${h.restarts} -> ${status.restartCount})`,
        };
      const now = await readMemory(driver.client, h.pod, h.container).catch(() => undefined);
      if (!now) return { landed: false, text: `${h.pod}/${h.container}: its cgroup could not be read` };
      if (now.oomKills > h.before.oomKills)
        return {
          landed: true,
          text: `${h.pod}/${h.container}: ${now.oomKills - h.before.oomKills} OOM kill(s) in its cgroup`,
        };
      const added = now.usage - h.before.usage;
      const limit = now.limit === null ? 'no limit' : `limit ${mb(now.limit)}`;
      return {
        landed: added >= h.bytes / 2,
        text: `${h.pod}/${h.container} cgroup usage ${mb(h.before.usage)} -> ${mb(now.usage)} (${mb(h.bytes)} held, ${limit})`,
      };
    }),
  );
  return {
    landed: seen.length > 0 && seen.every((s) => s.landed),
    evidence: seen.map((s) => s.text).join('; '),
  };
}

class KubeMemoryStress implements Injection {
  private readonly id = randomBytes(4).toString('hex');
  private held: Held[] = [];
  private running: Array<{ held: Held; done: Promise<unknown>; ended?: unknown }> = [];
  private removed = false;

  constructor(
    private readonly driver: KubernetesDriver,
    private readonly target: Target,
    private readonly spec: MemoryStressSpec,
  ) {}

  private get pidFile() {
    return `/tmp/chaosctl-mem-${this.id}`;
  }

  async plan(): Promise<string> {
    return `exec a node process holding ${amountOf(this.spec)} in the target container of each ready pod matching ${this.driver.selector(this.target)}, ending after ${this.spec.duration}`;
  }

  /** The holder is Node.js: the target container must have `node` (a Node.js service does). */
  async preflight(): Promise<string[]> {
    const [pod] = await this.driver.readyPods(this.target);
    if (!pod) return [];
    const container = this.spec.container ?? targetContainer(pod, this.target.service);
    const name = pod.metadata?.name ?? '';
    const found = await this.driver.client.exec(name, container, [
      'sh',
      '-c',
      'command -v node && command -v timeout',
    ]);
    if (found.exitCode !== 0)
      throw new UsageError(
        `memory-stress holds memory with node and timeout in the target container; ${name}/${container} lacks them: use --backend chaos-mesh`,
      );
    const limited = (await readMemory(this.driver.client, name, container)).limit !== null;
    return limited ? [] : [`${name}/${container} has no memory limit: the memory is taken from the node`];
  }

  async inject(): Promise<Injected> {
    this.held = await targetsOf(this.driver, this.target, this.spec);
    const seconds = Math.ceil(parseDuration(this.spec.duration) / 1000);
    for (const held of this.held) {
      if (this.removed) break;
      const script = `timeout ${seconds} node -e '${HOLDER}' ${held.bytes} ${seconds * 1000} & echo $! > ${this.pidFile}; wait; rm -f ${this.pidFile}`;
      const entry: (typeof this.running)[number] = {
        held,
        done: this.driver.client
          .exec(held.pod, held.container, ['sh', '-c', script], (seconds + 30) * 1000)
          .catch((e) => e),
      };
      void entry.done.then((outcome) => {
        entry.ended = outcome;
      });
      this.running.push(entry);
    }
    return { summary: `${this.held.map((h) => `${mb(h.bytes)} in ${h.pod}/${h.container}`).join(', ')}` };
  }

  async verify(): Promise<Verification> {
    await sleep(Math.min(3000, parseDuration(this.spec.duration) / 2));
    return memoryEffect(this.driver, this.target, this.held);
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    const stop = [
      'sh',
      '-c',
      `f=${this.pidFile}; if [ -f $f ]; then kill $(cat $f) 2>/dev/null; rm -f $f; fi; true`,
    ];
    const deadline = Date.now() + 5000;
    for (let pending = this.running; pending.length > 0 && Date.now() < deadline; ) {
      await Promise.allSettled(
        pending.map((r) => this.driver.client.exec(r.held.pod, r.held.container, stop, 10_000)),
      );
      await Promise.race([Promise.allSettled(pending.map((r) => r.done)), sleep(500)]);
      pending = pending.filter((r) => r.ended === undefined);
    }
  }
}

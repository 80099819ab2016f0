// pod-kill on Kubernetes: random victims among the target's ready pods, each deleted with a UID
// precondition (so a same-name StatefulSet successor is never hit) or evicted through the Eviction
// API, which honours PodDisruptionBudgets: a 429 refusal is reported as such, never retried.

import { type Target, targetOf } from '../../drivers/driver.js';
import { ApiCallError } from '../../drivers/kubernetes/cluster.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { fromLabelSelector, matches } from '../../drivers/kubernetes/selectors.js';
import { UsageError } from '../../errors.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { pickVictims } from '../victims.js';
import { type PodKillSpec, victimCount } from './spec.js';

export const injection = (driver: KubernetesDriver, spec: PodKillSpec): Injection =>
  new KubePodKill(driver, targetOf(spec), spec);

class KubePodKill implements Injection {
  private readonly seed: number;
  private victims: string[] = [];

  constructor(
    private readonly driver: KubernetesDriver,
    private readonly target: Target,
    private readonly spec: PodKillSpec,
  ) {
    this.seed = spec.seed ?? Math.floor(Math.random() * 2 ** 32);
  }

  private get mode() {
    return this.spec.mode ?? 'delete';
  }

  async plan(): Promise<string> {
    const count = this.spec.count === 'all' ? 'every one' : String(this.spec.count ?? 1);
    const grace =
      this.spec.gracePeriodSeconds === undefined
        ? "the pod's own grace period"
        : `grace period ${this.spec.gracePeriodSeconds} s`;
    return `${this.mode} ${count} of the ready pods matching ${this.driver.selector(this.target)}, chosen at random (seed ${this.seed}), ${grace}`;
  }

  /** What the namespace's PodDisruptionBudgets mean for this mode. */
  async preflight(): Promise<string[]> {
    const pods = await this.driver.pods(this.target);
    const budgets = (await this.driver.client.disruptionBudgets()).filter((pdb) =>
      pods.some((pod) => matches(fromLabelSelector(pdb.spec?.selector), pod.metadata?.labels ?? {})),
    );
    const names = budgets.map((b) => b.metadata?.name).join(', ');
    if (this.mode === 'delete') {
      return budgets.length
        ? [
            `--mode delete bypasses the PodDisruptionBudget ${names} (budgets limit evictions, not deletions); --mode evict goes through it`,
          ]
        : [`${this.target.service} has no PodDisruptionBudget: a node drain may take every replica at once`];
    }
    if (budgets.length === 0)
      return [`no PodDisruptionBudget covers ${this.target.service}: evictions are not limited`];
    const allowed = Math.min(...budgets.map((b) => b.status?.disruptionsAllowed ?? 0));
    const count = victimCount(this.spec, pods.length);
    return allowed < count
      ? [
          `the PodDisruptionBudget ${names} allows ${allowed} disruption(s) now: ${count - allowed} of ${count} evictions will be refused`,
        ]
      : [];
  }

  async inject(): Promise<Injected> {
    const ready = (await this.driver.replicas(this.target)).filter((r) => r.ready && !r.terminating);
    const count = victimCount(this.spec, ready.length);
    const victims = pickVictims(ready, count, this.seed);
    if (victims.length === 0) throw new UsageError(`no ready ${this.target.service} pod to ${this.mode}`);
    const { client } = this.driver;
    for (const victim of victims) {
      try {
        if (this.mode === 'evict')
          await client.evictPod(victim.name, victim.id, this.spec.gracePeriodSeconds);
        else await client.deletePod(victim.name, victim.id, this.spec.gracePeriodSeconds);
      } catch (error) {
        if (error instanceof ApiCallError && error.status === 429) {
          const done = this.victims.length ? ` after evicting ${this.victims.length}` : '';
          throw new EvictionRefused(
            `eviction of pod ${victim.name} refused by its PodDisruptionBudget${done}: ${error.message}`,
          );
        }
        throw error;
      }
      this.victims.push(victim.id);
    }
    return {
      summary: `${this.mode === 'evict' ? 'evicted' : 'deleted'} ${victims.map((v) => v.name).join(', ')} (seed ${this.seed})`,
      victims,
    };
  }

  /** Landed when every victim is seen terminating or gone. */
  async verify(): Promise<Verification> {
    const seen = await this.driver.waitFor(
      this.target,
      (replicas) => this.victims.every((id) => !replicas.some((r) => r.id === id && !r.terminating)),
      Date.now() + 10_000,
    );
    return {
      landed: seen,
      evidence: seen
        ? `the API server marked ${this.victims.length} pod(s) for termination`
        : 'a victim pod was never seen terminating',
    };
  }

  async remove(): Promise<void> {}
}

/** A PodDisruptionBudget said no: the experiment reports it instead of retrying. */
class EvictionRefused extends Error {}

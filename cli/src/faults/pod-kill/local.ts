// pod-kill on the local platform: the supervisor SIGKILLs the victims (a crash), or they get
// SIGTERM and, after the grace period, SIGKILL, as the kubelet does; they restart in their slots.
// Eviction has no local meaning.
import { type LocalDriver, replicaStatus } from '../../drivers/local/local-driver.js';
import { UsageError } from '../../errors.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { pickVictims } from '../victims.js';
import { type PodKillSpec, victimCount } from './spec.js';

export const injection = (driver: LocalDriver, spec: PodKillSpec): Injection =>
  new LocalPodKill(driver, driver.service(spec), spec);

class LocalPodKill implements Injection {
  private readonly seed: number;
  private verifyVictims: string[] = [];
  constructor(
    private readonly driver: LocalDriver,
    private readonly target: string,
    private readonly spec: PodKillSpec,
  ) {
    if (spec.mode === 'evict')
      throw new UsageError(
        '--mode evict needs the kubernetes driver: the local platform has no eviction API or PodDisruptionBudgets',
      );
    this.seed = spec.seed ?? Math.floor(Math.random() * 2 ** 32);
  }

  async plan() {
    return `${this.how()} ${this.spec.count === 'all' ? 'every' : (this.spec.count ?? 1)} of ${this.target}'s ready replicas, chosen at random (seed ${this.seed})`;
  }

  async preflight() {
    return [];
  }

  async inject(): Promise<Injected> {
    const ready = (await this.driver.replicas({ service: this.target })).filter((r) => r.ready);
    const victims = pickVictims(ready, victimCount(this.spec, ready.length), this.seed);
    const pids = new Map(replicaStatus(await this.driver.status(), this.target).map((r) => [r.id, r.pid]));
    const grace = this.spec.gracePeriodSeconds ?? 0;
    for (const victim of victims) {
      const pid = pids.get(victim.name);
      if (grace > 0 && pid) {
        process.kill(pid, 'SIGTERM');
        // As the kubelet does after the grace period: SIGKILL if it is still there.
        setTimeout(
          () => void this.driver.call('POST', `/kill/${this.target}/${victim.name}`).catch(() => {}),
          grace * 1000,
        ).unref();
      } else {
        await this.driver.call('POST', `/kill/${this.target}/${victim.name}`);
      }
    }
    this.verifyVictims = victims.map((v) => v.id);
    return {
      summary: `${this.how()} ${victims.map((v) => v.name).join(', ')} (seed ${this.seed})`,
      victims,
    };
  }

  async verify(): Promise<Verification> {
    // Landed when every victim incarnation is gone from the supervisor's view (its process died).
    const gone = await this.driver.waitFor(
      { service: this.target },
      (replicas) => this.verifyVictims.every((id) => !replicas.some((r) => r.id === id && r.ready)),
      Date.now() + 5000 + (this.spec.gracePeriodSeconds ?? 0) * 1000,
    );
    return {
      landed: gone,
      evidence: gone ? 'the killed processes stopped serving' : 'a killed replica kept serving',
    };
  }

  async remove() {}

  private how() {
    const grace = this.spec.gracePeriodSeconds ?? 0;
    return grace > 0 ? `stop (SIGTERM, ${grace} s grace)` : 'crash (SIGKILL)';
  }
}

// The local backend: faults on the processes `chaosctl local up` supervises. pod-kill crashes
// replicas (SIGKILL) or stops them gracefully (SIGTERM, then SIGKILL after the grace period);
// network-delay is held by the replicas on the connections callers make to the service's port; cpu-stress runs burner processes that
// compete with the replicas for this machine's cores. Eviction has no local meaning.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '../../drivers/driver.js';
import type { LocalDriver } from '../../drivers/local/local-driver.js';
import { service } from '../../drivers/local/local-driver.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../experiments/duration.js';
import type { ExperimentSpec, SpecOf } from '../../experiments/spec.js';
import { DEFAULT_WORKERS } from '../../faults/cpu-stress.js';
import type { Backend, Injected, Injection, Verification } from '../../faults/fault.js';
import { delayOf } from '../../faults/network-delay.js';
import { pickVictims, victimCount } from '../../faults/pod-kill.js';
import { delayLanded, probeLatency } from '../probe-latency.js';
import { type CpuFigures, type CpuTimes, cpuFigures, cpuTaken, cpuTimes } from './cpu-figures.js';

export class LocalBackend implements Backend {
  readonly name = 'local';
  constructor(private readonly driver: LocalDriver) {}

  injection(spec: ExperimentSpec): Injection {
    const target = service(spec);
    switch (spec.type) {
      case 'pod-kill':
        return new LocalPodKill(this.driver, target, spec);
      case 'network-delay':
        return new LocalNetworkDelay(this.driver, target, spec);
      case 'cpu-stress':
        return new LocalCpuStress(this.driver, target, spec);
    }
  }
}

class LocalPodKill implements Injection {
  private readonly seed: number;
  private verifyVictims: string[] = [];
  constructor(
    private readonly driver: LocalDriver,
    private readonly target: ServiceName,
    private readonly spec: SpecOf<'pod-kill'>,
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
    const pids = new Map(
      (await this.driver.status()).services[this.target].replicas.map((r) => [r.id, r.pid]),
    );
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

class LocalNetworkDelay implements Injection {
  private injected = false;
  private removed = false;
  private baselineMs = 0;
  constructor(
    private readonly driver: LocalDriver,
    private readonly target: ServiceName,
    private readonly spec: SpecOf<'network-delay'>,
  ) {
    if (spec.callers)
      throw new UsageError(
        "--callers needs the kubernetes driver: locally the delay is on the service's port, for every caller",
      );
  }

  async plan() {
    const { latencyMs, jitterMs } = delayOf(this.spec);
    return `${this.target}'s replicas hold each request to its service port ${latencyMs} ms ± ${jitterMs} ms`;
  }

  async preflight() {
    return [];
  }

  async inject(): Promise<Injected> {
    const { latencyMs, jitterMs, durationMs } = delayOf(this.spec);
    this.baselineMs = await probeLatency(await this.driver.url(this.target));
    // The supervisor expires the fault at its own deadline (a margin past ours) if chaosctl dies.
    await this.driver.call('POST', `/latency/${this.target}`, {
      latencyMs,
      jitterMs,
      durationMs: durationMs + 5000,
    });
    this.injected = true;
    return { summary: `${latencyMs} ms ± ${jitterMs} ms in front of ${this.target}` };
  }

  async verify(): Promise<Verification> {
    const { latencyMs } = delayOf(this.spec);
    const during = await probeLatency(await this.driver.url(this.target));
    const { landed, added } = delayLanded(this.baselineMs, during, latencyMs);
    return {
      landed,
      evidence: `${this.target}'s /healthz answered ${added} ms slower on its service port (${latencyMs} ms injected)`,
    };
  }

  async remove() {
    if (!this.injected || this.removed) return;
    this.removed = true;
    await this.driver.call('DELETE', `/latency/${this.target}`);
  }
}

class LocalCpuStress implements Injection {
  private burners: ReturnType<typeof spawn>[] = [];
  private pinned: Array<{ pid: number; mask: string }> = [];
  private atInjection: CpuFigures | undefined;
  private cpuAtInjection: CpuTimes | undefined;
  constructor(
    private readonly driver: LocalDriver,
    private readonly target: ServiceName,
    private readonly spec: SpecOf<'cpu-stress'>,
  ) {}

  private get workers() {
    return this.spec.workers ?? DEFAULT_WORKERS;
  }

  private get cpu() {
    return this.pinned.length > 0 ? `cpu${CPU}` : 'cpu';
  }

  async plan() {
    return `${this.workers} burner processes sharing one CPU with ${this.target}'s replicas (pinned with taskset for the duration)`;
  }

  async preflight() {
    return [];
  }

  /**
   * The local equivalent of burners inside a container's CPU limit: the target's replicas and the
   * burners are pinned to the same CPU (sched_setaffinity through util-linux's taskset), so the
   * burners compete with the target whatever else this machine runs; removal restores each
   * replica's own affinity. Each burner spins until its own deadline, so it ends even if chaosctl dies.
   */
  async inject(): Promise<Injected> {
    const status = await this.driver.status();
    this.atInjection = cpuFigures(status, this.target);
    const pids = status.services[this.target].replicas.flatMap((r) => (r.pid ? [r.pid] : []));
    for (const pid of pids) {
      const mask = /affinity mask: ([0-9a-f]+)/.exec(await taskset(['-p', String(pid)]))?.[1];
      if (mask && (await taskset(['-a', '-p', '-c', CPU, String(pid)])) !== '')
        this.pinned.push({ pid, mask });
    }
    const deadlineMs = parseDuration(this.spec.duration) + 5000;
    const burner = [
      process.execPath,
      '-e',
      'const until = Date.now() + Number(process.argv[1]); while (Date.now() < until);',
      String(deadlineMs),
    ];
    const pinnable = this.pinned.length > 0;
    this.cpuAtInjection = cpuTimes(this.cpu);
    this.burners = Array.from({ length: this.workers }, () =>
      // taskset execs the burner: the pid is the burner's own.
      pinnable
        ? spawn('taskset', ['-c', CPU, ...burner], { stdio: 'ignore' })
        : spawn(burner[0] as string, burner.slice(1), { stdio: 'ignore' }),
    );
    // A burner that cannot start (EAGAIN, ENOMEM) fails the injection here, with its reason (the
    // runner removes the others). Past that, an 'error' is a kill that failed, and every burner
    // stops at its own deadline anyway.
    for (const burner of this.burners) burner.on('error', () => {});
    await Promise.all(this.burners.map((burner) => once(burner, 'spawn'))).catch((error: Error) => {
      throw new Error(`cannot start a CPU burner: ${error.message}`);
    });
    const where = pinnable
      ? `on CPU ${CPU} with ${this.target}'s ${this.pinned.length} replica(s)`
      : `beside ${this.target} (taskset unavailable: not pinned)`;
    return { summary: `${this.workers} CPU burners ${where}` };
  }

  /** Judged on the CPU the target runs on (no idle time left), not on the burners' own CPU time. */
  async verify(): Promise<Verification> {
    await sleep(Math.min(2000, parseDuration(this.spec.duration) / 2));
    const during = cpuFigures(await this.driver.status(), this.target);
    return cpuTaken(this.target, this.cpu, this.cpuAtInjection, cpuTimes(this.cpu), {
      atInjection: this.atInjection,
      during,
    });
  }

  async remove() {
    for (const burner of this.burners) if (burner.exitCode === null) burner.kill('SIGKILL');
    const pinned = this.pinned;
    this.pinned = [];
    await Promise.all(pinned.map(({ pid, mask }) => taskset(['-a', '-p', mask, String(pid)])));
  }
}

const CPU = '0';

/** Runs util-linux's taskset; its output, or '' when it failed (not installed, process gone). */
function taskset(args: string[]): Promise<string> {
  return new Promise((resolve) =>
    execFile('taskset', args, { timeout: 5000 }, (error, stdout) => resolve(error ? '' : stdout || ' ')),
  );
}

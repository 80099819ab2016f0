// cpu-stress on the local platform: burner processes compete with the target's replicas for one CPU.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type LocalDriver, replicaStatus } from '../../drivers/local/local-driver.js';
import { parseDuration } from '../../experiments/duration.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { type CpuFigures, type CpuTimes, cpuFigures, cpuTaken, cpuTimes } from './cpu-figures.js';
import { type CpuStressSpec, DEFAULT_WORKERS } from './spec.js';

export const injection = (driver: LocalDriver, spec: CpuStressSpec): Injection =>
  new LocalCpuStress(driver, driver.service(spec), spec);

class LocalCpuStress implements Injection {
  private burners: ReturnType<typeof spawn>[] = [];
  private pinned: Array<{ pid: number; mask: string }> = [];
  private atInjection: CpuFigures | undefined;
  private cpuAtInjection: CpuTimes | undefined;
  constructor(
    private readonly driver: LocalDriver,
    private readonly target: string,
    private readonly spec: CpuStressSpec,
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
    const pids = replicaStatus(status, this.target).flatMap((r) => (r.pid ? [r.pid] : []));
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

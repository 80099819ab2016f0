// Whether CPU burners took the target's CPU, locally. The target's replicas and the burners share
// one CPU (pinned), so the observed effect is that CPU having no idle time left (/proc/stat, as a
// container's CPU limit is "consumed" when it is throttled), not the burners' own CPU time; the
// replicas' run-queue wait per CPU millisecond (/proc/<pid>/schedstat, from the supervisor) is
// reported beside it. A light replica that the kernel's scheduler still serves at once on a
// saturated CPU is the truth of a local burn, not a fault that failed to land.
import { readFileSync } from 'node:fs';
import type { PlatformStatus } from '../../drivers/local/supervisor.js';
import type { Verification } from '../fault.js';

export interface CpuFigures {
  cpuMs: number;
  waitMs: number;
}

/** Summed over the service's replicas; undefined when the supervisor does not report them. */
export function cpuFigures(status: PlatformStatus, service: string): CpuFigures | undefined {
  const replicas = (status.services[service]?.replicas ?? []) as Array<{
    cpuMs?: number;
    runQueueWaitMs?: number;
  }>;
  if (replicas.some((r) => typeof r.cpuMs !== 'number' || typeof r.runQueueWaitMs !== 'number'))
    return undefined;
  return {
    cpuMs: replicas.reduce((n, r) => n + (r.cpuMs ?? 0), 0),
    waitMs: replicas.reduce((n, r) => n + (r.runQueueWaitMs ?? 0), 0),
  };
}

const waitPerCpu = (from: CpuFigures, to: CpuFigures) => {
  const cpu = to.cpuMs - from.cpuMs;
  return cpu > 0 ? (to.waitMs - from.waitMs) / cpu : 0;
};

export interface CpuTimes {
  idle: number;
  total: number;
}

/** A CPU's (e.g. "cpu0") or all CPUs' ("cpu") jiffies from /proc/stat; undefined off Linux. */
export function cpuTimes(cpu: string): CpuTimes | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${cpu} `));
    const fields = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
    if (fields.length < 5) return undefined;
    // user nice system idle iowait irq softirq steal: idle and iowait are the CPU's spare time.
    return {
      idle: (fields[3] ?? 0) + (fields[4] ?? 0),
      total: fields.slice(0, 8).reduce((n, x) => n + x, 0),
    };
  } catch {
    return undefined;
  }
}

/** Landed when the CPU the target runs on had at most 10% of its time idle while the burners ran. */
export function cpuTaken(
  service: string,
  cpu: string,
  before: CpuTimes | undefined,
  during: CpuTimes | undefined,
  replicas: { atInjection?: CpuFigures; during?: CpuFigures },
): Verification {
  if (!before || !during || during.total <= before.total)
    return { landed: false, evidence: `no CPU times for ${cpu} (/proc/stat)` };
  const idle = (during.idle - before.idle) / (during.total - before.total);
  const wait =
    replicas.atInjection && replicas.during
      ? `; its replicas waited ${Math.round(waitPerCpu(replicas.atInjection, replicas.during) * 100)} ms for it per 100 ms they ran`
      : '';
  return {
    landed: idle <= 0.1,
    evidence: `${cpu === 'cpu' ? 'the CPUs' : cpu} running ${service} had ${Math.round(idle * 100)}% idle time while the burners ran${wait}`,
  };
}

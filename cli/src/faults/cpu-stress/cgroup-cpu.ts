// The CPU effect on a container, read from its own cgroup through exec: cgroup v2 cpu.stat
// (usage_usec, nr_throttled, throttled_usec) or v1 (cpu.stat's throttled_time and cpuacct.usage,
// both in ns), and PSI cpu.pressure ("some ... total=<usec>": time some task of the cgroup waited
// for a CPU; v2 only). See the kernel's Documentation/admin-guide/cgroup-v2.rst (cpu.stat,
// cpu.pressure), cgroup-v1/cpuacct.rst and scheduler/sched-bwc.rst, and accounting/psi.rst.
import type { KubeClient } from '../../drivers/kubernetes/kube-client.js';
import type { Verification } from '../fault.js';

const READ_CPU = [
  'sh',
  '-c',
  'cat /sys/fs/cgroup/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpu,cpuacct/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.stat; echo ---; cat /sys/fs/cgroup/cpu.pressure 2>/dev/null || true; echo ---; cat /sys/fs/cgroup/cpu,cpuacct/cpuacct.usage 2>/dev/null || cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || true',
];

export interface CpuSample {
  at: number;
  usageUs?: number;
  throttledUs?: number;
  pressureUs?: number;
}

function parseCpu(text: string, at: number): CpuSample {
  const [stat = '', pressure = '', cpuacct = ''] = text.split('---');
  const field = (name: string) => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(stat);
    return m ? Number(m[1]) : undefined;
  };
  const throttledNs = field('throttled_time');
  const some = /^some .*total=(\d+)/m.exec(pressure);
  const usageNs = /^\s*(\d+)\s*$/.exec(cpuacct);
  return {
    at,
    usageUs: field('usage_usec') ?? (usageNs ? Number(usageNs[1]) / 1000 : undefined),
    throttledUs: field('throttled_usec') ?? (throttledNs === undefined ? undefined : throttledNs / 1000),
    pressureUs: some ? Number(some[1]) : undefined,
  };
}

export async function readCpu(client: KubeClient, pod: string, container: string): Promise<CpuSample> {
  const at = Date.now();
  const result = await client.exec(pod, container, READ_CPU, 10_000);
  return parseCpu(result.stdout, at);
}

/** A CPU quantity as Kubernetes writes it ("500m", "1", "1.5"), in CPUs. */
export function cpuCores(quantity: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity ?? '');
  if (!m) return undefined;
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/**
 * Landed when, per pod, the container was throttled (it hit its CPU limit) or its tasks stalled
 * waiting for a CPU for at least 10% of the time between the two samples, or it used at least 75%
 * of its CPU limit: on a node whose CPUs are busy with other work, burners get less than the
 * container's quota and are not throttled (CFS throttles a cgroup only once its quota is spent
 * within a period; seen on a real 2-core node: 80-92% of a 500m limit used, 4% throttled), and
 * cgroup v1 has no pressure figures.
 */
export function cpuEffect(
  pairs: Array<{ pod: string; before: CpuSample; after: CpuSample; limitCores?: number }>,
  limited: boolean,
): Verification {
  const shares = pairs.map(({ pod, before, after, limitCores }) => {
    const wallUs = Math.max(1, (after.at - before.at) * 1000);
    const throttled = delta(before.throttledUs, after.throttledUs);
    const stalled = delta(before.pressureUs, after.pressureUs);
    const used = delta(before.usageUs, after.usageUs);
    return {
      pod,
      throttled: throttled === undefined ? undefined : throttled / wallUs,
      stalled: stalled === undefined ? undefined : stalled / wallUs,
      ofLimit: used === undefined || !limitCores ? undefined : used / wallUs / limitCores,
    };
  });
  const hit = shares.filter(
    (s) => (s.throttled ?? 0) >= 0.1 || (s.stalled ?? 0) >= 0.1 || (s.ofLimit ?? 0) >= 0.75,
  );
  const observable = shares.some((s) => s.throttled !== undefined || s.stalled !== undefined);
  const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x * 100)}%`);
  const detail = shares
    .map(
      (s) =>
        `${s.pod}: ${s.ofLimit === undefined ? '' : `used ${pct(s.ofLimit)} of its CPU limit, `}throttled ${pct(s.throttled)}, stalled ${pct(s.stalled)} of the time`,
    )
    .join('; ');
  if (!observable)
    return {
      landed: false,
      evidence: 'the target container exposes no cgroup CPU throttling or pressure figures',
    };
  return {
    landed: hit.length === shares.length,
    evidence: `${detail}${limited ? '' : ' (no CPU limit: only pressure can show the effect)'}`,
  };
}

const delta = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : b - a;

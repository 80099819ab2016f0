// What a container's memory cgroup says, read through pods/exec: usage, limit and OOM kills.
// cgroup v2 files memory.current, memory.max and memory.events (oom_kill); cgroup v1 ones
// memory/memory.usage_in_bytes, memory/memory.limit_in_bytes and memory.oom_control (oom_kill).
import type { KubeClient } from '../../drivers/kubernetes/kube-client.js';

export interface MemorySample {
  usage: number;
  /** Bytes, or null without a limit ("max", or v1's page-counter maximum). */
  limit: number | null;
  oomKills: number;
}

const SCRIPT = [
  'if [ -f /sys/fs/cgroup/memory.current ]; then',
  'echo usage $(cat /sys/fs/cgroup/memory.current); echo limit $(cat /sys/fs/cgroup/memory.max);',
  'grep oom_kill /sys/fs/cgroup/memory.events;',
  'else d=/sys/fs/cgroup/memory; echo usage $(cat $d/memory.usage_in_bytes); echo limit $(cat $d/memory.limit_in_bytes);',
  'grep oom_kill $d/memory.oom_control; fi',
].join(' ');

/** Above this a v1 limit is "no limit" (the page counter's maximum rounded to pages). */
const UNLIMITED = 2 ** 60;

export async function readMemory(client: KubeClient, pod: string, container: string): Promise<MemorySample> {
  const { stdout, exitCode, stderr } = await client.exec(pod, container, ['sh', '-c', SCRIPT]);
  const field = (name: string) => new RegExp(`^${name} (\\S+)`, 'm').exec(stdout)?.[1];
  const usage = Number(field('usage'));
  if (exitCode !== 0 || !Number.isFinite(usage))
    throw new Error(`cannot read the memory cgroup of ${pod}/${container}: ${stderr.trim().slice(0, 200)}`);
  const limit = Number(field('limit'));
  return {
    usage,
    limit: Number.isFinite(limit) && limit < UNLIMITED ? limit : null,
    oomKills: Number(field('oom_kill') ?? 0),
  };
}

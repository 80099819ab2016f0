// memory-stress on the local platform: the replicas are plain processes with no cgroup of their
// own, so the memory is held by a process beside them, competing for this machine's memory. The
// evidence is the holder's resident memory (/proc/<pid>/status VmRSS), not the target's.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LocalDriver } from '../../drivers/local/local-driver.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../experiments/duration.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { HOLDER } from './holder.js';
import { bytesOf, DEFAULT_SIZE, type MemoryStressSpec, mb } from './spec.js';

export function injection(driver: LocalDriver, spec: MemoryStressSpec): Injection {
  const target = driver.service(spec);
  if (spec.share !== undefined || spec.container !== undefined)
    throw new UsageError(
      '--share and --container need the kubernetes driver: local replicas have no container or memory limit',
    );
  const bytes = bytesOf(spec.size ?? DEFAULT_SIZE);
  let holder: ChildProcess | undefined;
  return {
    plan: async () => `a process holding ${mb(bytes)} beside ${target}'s replicas`,
    preflight: async () => [],
    async inject(): Promise<Injected> {
      await driver.status();
      holder = spawn(
        process.execPath,
        ['-e', HOLDER, String(bytes), String(parseDuration(spec.duration) + 5000)],
        {
          stdio: 'ignore',
        },
      );
      holder.on('error', () => {});
      await once(holder, 'spawn').catch((error: Error) => {
        throw new Error(`cannot start the memory holder: ${error.message}`);
      });
      return { summary: `${mb(bytes)} held by pid ${holder.pid} beside ${target}` };
    },
    async verify(): Promise<Verification> {
      let resident = 0;
      for (let i = 0; i < 50 && resident < bytes * 0.9 && holder?.exitCode === null; i++) {
        await sleep(100);
        resident = residentBytes(holder.pid);
      }
      const landed = resident >= bytes * 0.9;
      return {
        landed,
        evidence: landed
          ? `the holder (pid ${holder?.pid}) has ${mb(resident)} resident of ${mb(bytes)}`
          : `the holder reached ${mb(resident)} resident of ${mb(bytes)}${holder?.exitCode === null ? '' : ` and exited (${holder?.exitCode ?? holder?.signalCode})`}`,
      };
    },
    async remove() {
      if (holder && holder.exitCode === null && holder.signalCode === null) {
        holder.kill('SIGKILL');
        await once(holder, 'exit');
      }
    },
  };
}

function residentBytes(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) * 1024;
  } catch {
    return 0;
  }
}

// container-kill on the local platform: a replica's process is its container. The supervisor
// SIGKILLs it and restarts it in the same slot, on the same port: a restart in place.
import { type LocalDriver, replicaStatus } from '../../drivers/local/local-driver.js';
import { UsageError } from '../../errors.js';
import type { Injected, Injection, Verification } from '../fault.js';
import { pickVictims } from '../victims.js';
import { type ContainerKillSpec, seedOf } from './spec.js';

export function injection(driver: LocalDriver, spec: ContainerKillSpec): Injection {
  if (spec.container)
    throw new UsageError('--container needs the kubernetes driver: a local replica is one process');
  const target = driver.service(spec);
  const seed = seedOf(spec);
  let victims: Array<{
    slot: string;
    pid: number | null;
    port: number;
    restarts: number;
    startedAt: number;
  }> = [];
  return {
    plan: async () =>
      `SIGKILL the process of ${spec.count ?? 1} of ${target}'s ready replicas, chosen at random (seed ${seed}); the supervisor restarts each in its slot`,
    preflight: async () => [],
    async inject(): Promise<Injected> {
      const ready = (await driver.replicas({ service: target })).filter((r) => r.ready);
      const chosen = pickVictims(ready, spec.count ?? 1, seed);
      const status = replicaStatus(await driver.status(), target);
      victims = chosen
        .flatMap((v) => status.filter((r) => r.id === v.name))
        .map((r) => ({
          slot: r.id,
          pid: r.pid,
          port: r.port,
          restarts: r.restarts,
          startedAt: r.startedAt,
        }));
      for (const victim of victims) await driver.call('POST', `/kill/${target}/${victim.slot}`);
      return {
        summary: `killed the process of ${victims.map((v) => `${v.slot} (pid ${v.pid})`).join(', ')} (seed ${seed})`,
        victims: chosen,
      };
    },
    async verify(): Promise<Verification> {
      // Restarted in place: a new incarnation in the same slot, one restart more.
      const landed = await driver.waitFor(
        { service: target },
        (replicas) =>
          victims.every((v) =>
            replicas.some(
              (r) => r.name === v.slot && r.id !== `${v.slot}@${v.startedAt}` && r.restarts > v.restarts,
            ),
          ),
        Date.now() + 10_000,
      );
      const now = replicaStatus(await driver.status(), target);
      const restarted = victims.map((v) => {
        const after = now.find((r) => r.id === v.slot);
        return `${v.slot} restarted in place on port ${after?.port ?? v.port} (pid ${v.pid} -> ${after?.pid}, restarts ${v.restarts} -> ${after?.restarts})`;
      });
      return {
        landed,
        evidence: landed
          ? restarted.join('; ')
          : 'a killed replica was not restarted in its slot within 10 s',
      };
    },
    remove: async () => {},
  };
}

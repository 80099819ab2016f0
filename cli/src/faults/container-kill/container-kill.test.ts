// container-kill end to end: the built chaosctl against the local platform (a replica's process
// dies and is restarted in its slot) and against the Kubernetes double (the container restarts in
// place: restartCount up, same pod and IP), natively and through Chaos Mesh.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { experimentOf, startPlatforms } from '../../../test/kube-platform.js';

let platforms: Awaited<ReturnType<typeof startPlatforms>>;
beforeAll(async () => {
  platforms = await startPlatforms('container-kill');
}, 90_000);
afterAll(() => platforms?.close(), 30_000);

const killed = ['container-kill', '--service', 'inventory-service', '--seed', '3', '--retries', '2'];

/** A disruption's recovery: the old incarnation ended and capacity came back, both measured. */
function passed(result: ReturnType<typeof experimentOf>) {
  expect(result).toMatchObject({ type: 'container-kill', status: 'pass', fault: { verified: true } });
  expect(result.recovery.terminatedMs).not.toBeNull();
  expect(result.recovery.capacityRestoredMs).not.toBeNull();
  expect(result.events.map((e: { event: string }) => e.event)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^capacity restored: 2\/2 available/)]),
  );
}

describe('container-kill', () => {
  it('locally kills a replica process, which restarts in its slot', async () => {
    const result = experimentOf(await platforms.chaosctl([...killed, ...platforms.local('local')]));
    passed(result);
    expect(result.backend).toBe('local');
    expect(result.fault.evidence).toMatch(
      /^inventory-service-\d restarted in place on port \d+ \(pid \d+ -> \d+, restarts \d+ -> \d+\)$/,
    );
  }, 120_000);

  it.each(['kubernetes', 'chaos-mesh'])(
    'on Kubernetes (%s) restarts the container in place: restartCount up, same pod and IP',
    async (backend) => {
      const uids = async () =>
        (await platforms.cluster.core.listNamespacedPod({ namespace: 'shop' })).items
          .map((p) => p.metadata?.uid)
          .sort();
      const before = await uids();
      const result = experimentOf(await platforms.chaosctl([...killed, ...platforms.kube(backend)]));
      passed(result);
      expect(result.backend).toBe(backend);
      expect(result.fault.evidence).toMatch(
        /^restarted in place: inventory-service-\S+\/inventory-service restartCount \d+ -> \d+ \(last: (Completed|Error)\), same pod, IP 10\.244\.\d+\.\d+$/,
      );
      // No pod was replaced: the same UIDs before and after.
      expect(await uids()).toEqual(before);
    },
    120_000,
  );
});

// The Chaos Mesh backend (used when the CRDs of the faults' kinds are served, or with --backend
// chaos-mesh): what every fault's Chaos Mesh object shares. A fault counts as injected when Chaos
// Mesh reports Selected and AllInjected, and as removed when the deleted object is gone (Chaos Mesh
// keeps its finalizer until every record is recovered). Each object carries a duration, so a
// crashed chaosctl leaves nothing on.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Target } from '../../drivers/driver.js';
import type { KubeClient } from '../../drivers/kubernetes/kube-client.js';
import type { KubernetesDriver } from '../../drivers/kubernetes/kubernetes-driver.js';
import { UsageError } from '../../errors.js';
import type { Injected, Injection, Observed, Verification } from '../../faults/fault.js';
import { CHAOS_MESH, type ChaosObject } from './objects.js';

const WAIT_MS = 60_000;
const POLL_MS = 500;

/** Whether the cluster serves every Chaos Mesh kind the faults use (a CRD's plural is its kind in lower case). */
export async function chaosMeshInstalled(client: KubeClient, kinds: readonly string[]): Promise<boolean> {
  const served = await Promise.all(
    kinds.map((kind) => client.serves(CHAOS_MESH.group, CHAOS_MESH.version, kind.toLowerCase())),
  );
  return served.every(Boolean);
}

type Condition = { type?: string; status?: string; reason?: string; message?: string };

/** Creating, waiting for and deleting one Chaos Mesh object. */
export abstract class MeshInjection implements Injection {
  protected readonly name = `chaosctl-${randomBytes(4).toString('hex')}`;
  private created = false;
  private removed = false;

  constructor(
    protected readonly driver: KubernetesDriver,
    protected readonly target: Target,
  ) {}

  protected abstract object(): Promise<ChaosObject>;
  abstract plan(): Promise<string>;
  abstract verify(observed?: Observed): Promise<Verification>;

  protected plural(object: ChaosObject): string {
    return object.kind.toLowerCase();
  }

  /** A server-side dry run: the CRD schema, RBAC and admission webhooks answer before any traffic. */
  async preflight(): Promise<string[]> {
    const object = await this.object();
    try {
      await this.driver.client.createCustom(
        CHAOS_MESH.group,
        CHAOS_MESH.version,
        this.plural(object),
        object,
        true,
      );
    } catch (error) {
      throw new UsageError(`the API server would refuse the ${object.kind}: ${(error as Error).message}`);
    }
    return [];
  }

  async inject(): Promise<Injected> {
    const object = await this.object();
    const { client } = this.driver;
    const plural = this.plural(object);
    await client.createCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, object);
    this.created = true;
    const deadline = Date.now() + WAIT_MS;
    let conditions: Condition[] = [];
    while (Date.now() < deadline) {
      const now = await client.getCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, this.name);
      conditions = (now?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
      // Chaos Mesh reports AllInjected True before it has selected anything (no records yet), so
      // Selected must be True too (api/v1alpha1 status conditions, controllers/condition).
      const holds = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
      if (holds('Selected') && holds('AllInjected'))
        return { summary: `${object.kind} ${this.name} injected (${describe(conditions)})` };
      await sleep(POLL_MS);
    }
    throw new Error(
      `Chaos Mesh did not report ${object.kind} ${this.name} AllInjected within ${WAIT_MS / 1000} s (${describe(conditions) || 'no conditions'})`,
    );
  }

  async remove(): Promise<void> {
    if (!this.created || this.removed) return;
    this.removed = true;
    const object = await this.object();
    const { client } = this.driver;
    const plural = this.plural(object);
    await client.deleteCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, this.name);
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      if (!(await client.getCustom(CHAOS_MESH.group, CHAOS_MESH.version, plural, this.name))) return;
      await sleep(POLL_MS);
    }
    throw new Error(
      `${object.kind} ${this.name} was still there ${WAIT_MS / 1000} s after its deletion (not recovered)`,
    );
  }
}

const describe = (conditions: Condition[]) =>
  conditions.map((c) => `${c.type}=${c.status}${c.message ? ` ${c.message}` : ''}`).join(', ');

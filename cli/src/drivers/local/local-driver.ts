// The local driver: the platform `chaosctl local up` runs, seen through its supervisor's control
// API. A replica's identity is its slot and start time: a killed replica restarts in its slot as a
// new incarnation, as a StatefulSet pod comes back under its old name with a new UID.
import type { Dispatcher } from 'undici';
import { UnreachableError, UsageError } from '../../errors.js';
import type { Capacity, Driver, Replica, Target } from '../driver.js';
import { fetchStatus, requireState, watchStatus } from './platform.js';
import type { PlatformStatus, ReplicaStatus } from './supervisor.js';

export class LocalDriver implements Driver {
  readonly name = 'local';
  readonly controlUrl: string;
  /** The targets the platform runs, as `local up` recorded them. */
  readonly targets: readonly string[];

  constructor(stateDir: string) {
    const state = requireState(stateDir);
    if (!Array.isArray(state.targets))
      throw new UnreachableError(
        `the local platform in ${stateDir} was started by an older chaosctl; restart it ('chaosctl local down', then 'local up')`,
      );
    this.controlUrl = state.controlUrl;
    this.targets = state.targets;
  }

  /** The target's name, when the platform runs it; else one line saying which it runs. */
  /** A target's name on the platform; its selector and workload say how Kubernetes finds it, not this. */
  service(target: Target): string {
    if (!this.targets.includes(target.service))
      throw new UsageError(`the local platform runs ${this.targets.join(', ')}; it has no ${target.service}`);
    return target.service;
  }

  async status(): Promise<PlatformStatus> {
    try {
      return await fetchStatus(this.controlUrl);
    } catch (error) {
      throw new UnreachableError(
        `the local platform's supervisor does not answer: ${(error as Error).message}`,
      );
    }
  }

  async call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    // undici's request: fetch refuses some ports (cli/test/bad-ports.test.ts). Loaded on the first
    // call: a dry run that finds no platform never needs it. From `default`, as in platform.ts.
    const { request } = (await import('undici')).default;
    const res = await request(`${this.controlUrl}${path}`, {
      method: method as Dispatcher.HttpMethod,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    }).catch((error: Error) => {
      throw new UnreachableError(`the local platform's supervisor does not answer: ${error.message}`);
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode >= 400) throw new Error(String(json.error ?? `supervisor answered ${res.statusCode}`));
    return json;
  }

  /** The supervisor answers and runs every target (one it does not run is refused, naming those it runs). */
  async connect(targets: readonly Target[] = []): Promise<string> {
    await this.status();
    for (const target of targets) this.service(target);
    return `the local platform (supervisor ${this.controlUrl})`;
  }

  close(): void {}

  /** Local replicas always have readiness checks (the supervisor's) and no budget to consult. */
  async preflight(target: Target): Promise<string[]> {
    this.service(target);
    return [];
  }

  /** The target's front port on the supervisor: locally traffic always enters there. */
  async url(target: Target): Promise<string> {
    const service = this.service(target);
    const url = (await this.status()).services[service]?.url;
    if (url === undefined)
      throw new UnreachableError(`the local platform's supervisor does not run ${service}`);
    return url;
  }

  async replicas(target: Target): Promise<Replica[]> {
    return replicasOf(await this.status(), this.service(target));
  }

  async capacity(target: Target): Promise<Capacity> {
    return capacityOf(await this.replicas(target));
  }

  async waitFor(
    target: Target,
    until: (replicas: Replica[], capacity: Capacity) => boolean,
    deadline: number,
  ): Promise<boolean> {
    // By event: the supervisor answers a long-poll as soon as its status changes; the deadline ends it.
    const name = this.service(target);
    let met = false;
    const signal = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
    try {
      await watchStatus(
        this.controlUrl,
        (status) => {
          const replicas = replicasOf(status, name);
          met = until(replicas, capacityOf(replicas));
          return met;
        },
        { signal, waitMs: Math.min(25_000, Math.max(1, deadline - Date.now())) },
      );
    } catch (error) {
      throw new UnreachableError(
        `the local platform's supervisor does not answer: ${(error as Error).message}`,
      );
    }
    return met;
  }
}

/** A target's replicas in a status (none when the supervisor does not run it). */
export const replicaStatus = (status: PlatformStatus, name: string): ReplicaStatus[] =>
  status.services[name]?.replicas ?? [];

function replicasOf(status: PlatformStatus, name: string): Replica[] {
  return replicaStatus(status, name).map((r) => ({
    id: `${r.id}@${r.startedAt}`,
    name: r.id,
    ready: r.ready,
    terminating: false,
    restarts: r.restarts,
  }));
}

/** Locally every replica is desired (a dead one is respawned in place); the ready ones serve. */
function capacityOf(replicas: Replica[]): Capacity {
  return { desired: replicas.length, available: replicas.filter((r) => r.ready).length };
}

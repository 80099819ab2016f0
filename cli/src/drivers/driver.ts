// What an experiment needs to SEE of the system under test, wherever it runs: where traffic reaches
// a target, a target's replicas and capacity as they change. Two implementations: local processes
// (drivers/local) and Kubernetes (drivers/kubernetes). Faults are carried out by backends
// (cli/src/backends), which use a driver to find their targets.

import type { TargetSpec } from '../suite/target.js';

/** A target of a suite, by its name, with what its driver needs to find it (suite/schema.ts). */
export interface Target extends Omit<TargetSpec, 'run'> {
  /** The suite's name for it: on Kubernetes also its pods' default app.kubernetes.io/name and Service. */
  service: string;
}

/** The target an experiment names (its selector and workload only, as an experiment spec carries them). */
export const targetOf = (spec: { service: string; selector?: string; workload?: string }): Target => ({
  service: spec.service,
  ...(spec.selector ? { selector: spec.selector } : {}),
  ...(spec.workload ? { workload: spec.workload } : {}),
});

/** A suite's target by name; one the suite does not declare is found by the defaults. */
export function targetNamed(targets: Record<string, TargetSpec>, name: string): Target {
  const { run: _run, ...kubernetes } = targets[name] ?? {};
  return { ...kubernetes, service: name };
}

export interface Replica {
  /** Identity of this incarnation: a pod's UID, a local replica's slot and start time. A successor with the same name has a new id. */
  id: string;
  name: string;
  ready: boolean;
  /** Deleted and shutting down (Kubernetes: deletionTimestamp set); never counted as capacity. */
  terminating: boolean;
  restarts: number;
}

export interface Capacity {
  /** Replicas the owning workload wants. */
  desired: number;
  /** Ready replicas that are not terminating. */
  available: number;
}

export interface Driver {
  readonly name: 'local' | 'kubernetes';
  /** Checks the targets can be seen; returns one line saying where chaosctl acts. */
  connect(targets: readonly Target[]): Promise<string>;
  /** Base URL of a target, as traffic reaches it. */
  url(target: Target): Promise<string>;
  replicas(target: Target): Promise<Replica[]>;
  capacity(target: Target): Promise<Capacity>;
  /** Resolves true as soon as `until` holds (re-checked on every change), false at the deadline. */
  waitFor(
    target: Target,
    until: (replicas: Replica[], capacity: Capacity) => boolean,
    deadline: number,
  ): Promise<boolean>;
  /** What makes any fault on this target riskier than it should be (no readiness probe...). */
  preflight(target: Target): Promise<string[]>;
  /** Forgets what it cached about targets (a new experiment reads it again). */
  refresh?(): void;
  /** Stops watches and clients. */
  close(): void;
}

// What an experiment needs to SEE of the platform, wherever it runs: where traffic reaches a
// service, a target's replicas and capacity as they change. Two implementations: local processes
// (drivers/local) and Kubernetes (drivers/kubernetes). Faults are carried out by backends
// (cli/src/backends), which use a driver to find their targets.

/** The platform's services: traffic goes to order-service, integrity reads inventory-service. */
export const SERVICE_NAMES = ['order-service', 'inventory-service', 'notification-service'] as const;

/** What an experiment targets: a service name and, optionally, how to find its pods. */
export interface Target {
  service: string;
  /** Label selector of its pods (Kubernetes); default app.kubernetes.io/name=<service>. */
  selector?: string;
  /** deployment/<name> or statefulset/<name>: the workload whose desired replicas define capacity. */
  workload?: string;
}

/** The target an experiment names. */
export const targetOf = (spec: { service: string; selector?: string; workload?: string }): Target => ({
  service: spec.service,
  ...(spec.selector ? { selector: spec.selector } : {}),
  ...(spec.workload ? { workload: spec.workload } : {}),
});

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
  /** Checks the platform can be reached; returns one line saying where chaosctl acts. */
  connect(): Promise<string>;
  /** Base URL of a service, as traffic reaches it. */
  url(service: string): Promise<string>;
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

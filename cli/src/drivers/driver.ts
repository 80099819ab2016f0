// What an experiment needs from where the platform runs. Two implementations: local processes
// (drivers/local) and Kubernetes (drivers/kubernetes).
export type ServiceName = 'order-service' | 'inventory-service' | 'notification-service';
export const SERVICE_NAMES: readonly ServiceName[] = [
  'order-service',
  'inventory-service',
  'notification-service',
];

export interface Replica {
  id: string;
  ready: boolean;
  restarts: number;
}

export interface InjectedFault {
  /** Removes the fault now (it also expires on its own at its deadline). Idempotent. */
  remove(): Promise<void>;
}

export interface CpuBurn extends InjectedFault {
  /** Waits for the burners to end and returns the CPU time they really consumed. */
  burnedMs(): Promise<number>;
}

export interface Driver {
  readonly name: 'local' | 'kubernetes';
  /** Base URL of a service, as traffic reaches it. */
  url(service: ServiceName): Promise<string>;
  replicas(service: ServiceName): Promise<Replica[]>;
  /** Kills `count` replicas; returns their ids. */
  killReplicas(service: ServiceName, count: number): Promise<string[]>;
  addLatency(
    service: ServiceName,
    latencyMs: number,
    jitterMs: number,
    durationMs: number,
  ): Promise<InjectedFault>;
  stressCpu(service: ServiceName, workers: number, durationMs: number): Promise<CpuBurn>;
  /** What makes a fault riskier than it should be (no readiness probe, no disruption budget). */
  preflight(service: ServiceName): Promise<string[]>;
  /** Stops watches and clients. */
  close(): void;
}

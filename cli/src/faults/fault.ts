// The two interfaces every fault goes through. A fault TYPE (pod-kill, network-delay, cpu-stress)
// says what the fault is and what recovery means for it; a BACKEND (local processes, Kubernetes
// native, Chaos Mesh) carries it out as an Injection. The runner knows faults only through these.
import type { Replica } from '../drivers/driver.js';
import type { ExperimentSpec, FaultType, SpecOf } from '../experiments/spec.js';

export interface Verification {
  /** The fault was seen to act on the target (an observed effect, not the injector's word). */
  landed: boolean;
  evidence: string;
}

export interface Injected {
  /** One line for the report and the log: what was hit. */
  summary: string;
  /** The replicas a disruption took down (pod-kill), followed until they are replaced. */
  victims?: Replica[];
}

/** One experiment's fault as a backend carries it out. */
export interface Injection {
  /** What it will touch (pods, processes, objects it creates), for --dry-run. Changes nothing. */
  plan(): Promise<string>;
  /** Before any traffic: throws (one line naming the reason and the fix) when the fault cannot land; returns warnings. */
  preflight(): Promise<string[]>;
  /** Breaks the target; resolves once the fault is in force. */
  inject(): Promise<Injected>;
  /** An observed effect on the target, checked once the fault is in force. */
  verify(): Promise<Verification>;
  /** Takes the fault back and waits until it is gone. Idempotent, safe before inject: it is registered for Ctrl-C before inject runs. */
  remove(): Promise<void>;
}

export interface FaultModule<T extends FaultType> {
  readonly type: T;
  /**
   * `timed`: in force for its duration, then removed; recovery is measured from its removal.
   * `disruption`: instantaneous (replicas die); recovery is the platform's own, from injection.
   */
  readonly kind: 'timed' | 'disruption';
  durationMs(spec: SpecOf<T>): number;
  describe(spec: SpecOf<T>): string;
}

export interface Backend {
  readonly name: 'local' | 'kubernetes' | 'chaos-mesh';
  /** Throws a UsageError naming the backends that can when this one cannot carry out the fault. */
  injection(spec: ExperimentSpec): Injection;
}

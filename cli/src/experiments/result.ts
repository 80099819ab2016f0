// What one experiment measured: the runner fills it in, every reporter renders it.
import type { ProbeResult } from '../probes/probe.js';
import type { RetryPolicy } from '../traffic/load.js';
import type { ReadBackResult } from '../traffic/read-back.js';
import type { replicaTraffic, timeline, WindowStats } from '../traffic/stats.js';
import type { Phases } from './recovery.js';
import type { ExperimentSpec } from './spec.js';

/** An experiment's name in logs and reports: its own, else its fault and target. */
export const experimentName = (spec: ExperimentSpec) => spec.name ?? `${spec.type} ${spec.service}`;

export interface ThresholdResult {
  name:
    | 'capacity-restored'
    | 'user-facing-recovery'
    | 'error-rate'
    | 'p95-latency'
    | 'steady-state'
    | 'integrity';
  limit: number | boolean;
  measured: number | boolean;
  unit: 'ms' | 'ratio' | 'boolean';
  passed: boolean;
}

export interface ExperimentResult {
  name: string;
  type: ExperimentSpec['type'];
  service: string;
  backend: string;
  parameters: Record<string, unknown>;
  /**
   * skipped: the environment cannot carry out the fault (`error` says why); nothing was injected.
   * aborted: an abort condition fired (`abort` says which); the fault was removed at once.
   */
  status: 'pass' | 'fail' | 'error' | 'skipped' | 'aborted';
  error?: string;
  warnings: string[];
  startedAt: string;
  finishedAt: string;
  fault: {
    injectedAt: string | null;
    removedAt: string | null;
    verified: boolean;
    evidence: string;
    summary: string;
  };
  recovery: Phases & {
    /** What the SLA gates, in one figure: a disruption, max(capacity restored, user-facing); a timed fault, user-facing recovery after its removal. */
    totalMs: number | null;
  };
  traffic: {
    rps: number;
    /** The client's retries; absent from reports written before chaosctl could retry (none did). */
    retry?: RetryPolicy;
    /** The warm-up before the baseline, which no window counts (absent from reports before it). */
    warmup?: WindowStats;
    before: WindowStats;
    /** The before window's p95 in each of its seconds: a steady baseline is a flat row. */
    beforeP95BySecondMs?: number[];
    during: WindowStats;
    after: WindowStats;
    /** Answers per replica (X-Served-By), in total and per second. */
    replicas: ReturnType<typeof replicaTraffic>;
  };
  /** Every acknowledged request with a read-back, read back after the chaos (null: none declared). */
  integrity: ReadBackResult | null;
  /** The steady-state hypothesis: each probe before the fault, its samples while on, and after it. */
  probes: {
    before: ProbeResult[];
    during: Array<{ name: string; samples: number; failed: number; firstFailure?: string }>;
    after: ProbeResult[];
  };
  /** The abort condition that stopped the experiment, when one did. */
  abort?: { condition: string; detail: string; at: string };
  thresholds: ThresholdResult[];
  timeline: ReturnType<typeof timeline>;
  events: Array<{ at: string; event: string }>;
}

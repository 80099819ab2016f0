// What the traffic says about a fault: which requests it touched (attribution) and when users were
// served normally again (phases). Pure functions over samples, so they are tested on synthetic
// timelines. Every time is epoch ms; every phase is reported in ms from the fault's injection.
import type { Sample } from '../traffic/load.js';
import { buckets, failed, type WindowStats, windowStats } from '../traffic/stats.js';

const completedAt = (s: Sample) => s.completedAt;

/**
 * The three windows, and the warm-up before them (due before `baselineFrom`, done before the
 * injection), which no window counts. A request counts toward the fault when it was in flight at any moment the
 * fault was active: due before the end and completed at or after injection. So the request that
 * dies with a killed replica counts in `during`, even though it was due just before the kill.
 */
export function attribute(
  samples: readonly Sample[],
  injectedAt: number,
  endedAt: number,
  baselineFrom = Number.NEGATIVE_INFINITY,
) {
  const warmup: Sample[] = [];
  const before: Sample[] = [];
  const during: Sample[] = [];
  const after: Sample[] = [];
  for (const s of samples) {
    if (completedAt(s) < injectedAt) (s.dueAt < baselineFrom ? warmup : before).push(s);
    else if (s.dueAt < endedAt) during.push(s);
    else after.push(s);
  }
  return { warmup, before, during, after };
}

export interface Phases {
  /** The fault was taken back (timed faults); 0 for a disruption. */
  faultEndedMs: number;
  /** The first request that failed, at its failure. */
  firstFailureMs: number | null;
  /** order-service opened a circuit breaker (its own metrics). */
  breakerOpenedMs: number | null;
  /** ...and every replica that had one open has closed it again. */
  breakerClosedMs: number | null;
  /** Killed replicas gone (Kubernetes: their pod objects deleted after graceful termination). */
  terminatedMs: number | null;
  /** The workload's desired replicas available again, terminating ones not counted. */
  capacityRestoredMs: number | null;
  /** The end of the last failed request. */
  errorsEndedMs: number | null;
  /** p95 back within its baseline band, after the fault ended. */
  latencyNormalMs: number | null;
  /** Users served as before: a disruption, its last failure ended; a timed fault, also latency back in its band. */
  userFacingMs: number | null;
  /** Every probe of the steady-state hypothesis held again after the fault (null: none to check, or never). */
  steadyStateMs: number | null;
}

/** Every phase, in the order they usually come, with the words people read. */
export const PHASES = [
  ['firstFailureMs', 'first failure'],
  ['breakerOpenedMs', 'breaker opened'],
  ['faultEndedMs', 'fault ended'],
  ['capacityRestoredMs', 'capacity restored'],
  ['terminatedMs', 'old replicas terminated'],
  ['breakerClosedMs', 'breaker closed'],
  ['errorsEndedMs', 'errors ended'],
  ['latencyNormalMs', 'latency normal'],
  ['userFacingMs', 'user-facing recovery'],
  ['steadyStateMs', 'probes held again'],
] as const satisfies ReadonlyArray<readonly [keyof Phases, string]>;

/** The latency a span's p95 may reach and still count as normal: twice the baseline p95, and at least 50 ms above it (scheduling noise on a shared machine). */
const latencyBand = (before: WindowStats) => Math.max(before.p95Ms * 2, before.p95Ms + 50);

const SPAN_MS = 1000;
const BUCKET_MS = 100;

export function phases(
  kind: 'timed' | 'disruption',
  samples: readonly Sample[],
  injectedAt: number,
  faultEndedAt: number,
  milestones: {
    terminatedAt?: number;
    capacityRestoredAt?: number;
    breakerOpenedAt?: number;
    breakerClosedAt?: number;
    steadyStateAt?: number;
  },
): Phases {
  const from = (at: number | undefined) =>
    at === undefined ? null : Math.max(0, Math.round(at - injectedAt));
  const touched = samples.filter((s) => completedAt(s) >= injectedAt);
  const failures = touched.filter(failed);
  const firstFailure = failures.length ? Math.min(...failures.map(completedAt)) : undefined;
  const lastFailure = failures.length ? Math.max(...failures.map(completedAt)) : undefined;

  // Latency normal: the start of the first one-second span (on a 100 ms grid, by due time) after
  // the fault ended whose requests have no failure and a p95 within the band.
  const band = latencyBand(windowStats(samples.filter((s) => completedAt(s) < injectedAt)));
  const after = buckets(
    touched.filter((s) => s.dueAt >= faultEndedAt),
    faultEndedAt,
    BUCKET_MS,
  );
  const lastKey = Math.max(-1, ...after.keys());
  const span = SPAN_MS / BUCKET_MS;
  let latencyNormalAt: number | undefined;
  // The last span may be cut short by the end of the traffic: half a span still counts.
  for (let start = 0; start + span / 2 - 1 <= lastKey; start++) {
    const requests = Array.from({ length: span }, (_, i) => after.get(start + i) ?? []).flat();
    const stats = windowStats(requests);
    if (stats.failed === 0 && stats.p95Ms <= band) {
      latencyNormalAt = faultEndedAt + start * BUCKET_MS;
      break;
    }
  }
  // A disruption is over for users when the last failed request ended (its latency is reported,
  // not gated); a timed fault when, after its removal, failures have stopped and latency is normal.
  const userFacingAt =
    kind === 'disruption'
      ? (lastFailure ?? injectedAt)
      : latencyNormalAt === undefined
        ? undefined
        : Math.max(latencyNormalAt, lastFailure ?? injectedAt);
  return {
    faultEndedMs: Math.round(faultEndedAt - injectedAt),
    firstFailureMs: from(firstFailure),
    breakerOpenedMs: from(milestones.breakerOpenedAt),
    breakerClosedMs: from(milestones.breakerClosedAt),
    terminatedMs: from(milestones.terminatedAt),
    capacityRestoredMs: from(milestones.capacityRestoredAt),
    errorsEndedMs: from(lastFailure),
    latencyNormalMs: from(latencyNormalAt),
    userFacingMs: from(userFacingAt),
    steadyStateMs: from(milestones.steadyStateAt),
  };
}

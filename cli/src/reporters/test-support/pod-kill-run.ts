// A synthetic pod-kill run for the reporters' tests: traffic made up here, run through the real
// attribution, phases, timeline and per-replica functions, so its figures agree with one another.
import { attribute, phases } from '../../experiments/recovery.js';
import type { ExperimentResult } from '../../experiments/result.js';
import type { Sample } from '../../traffic/load.js';
import { replicaTraffic, timeline, windowStats } from '../../traffic/stats.js';

export const T0 = Date.parse('2026-11-24T20:00:00.000Z');

/**
 * Six seconds of 50 orders/s over replicas a and b; replica b is killed at 2 s: what was in flight on
 * it and what was still sent to it for `outageMs` fails, then c takes its place. The run fails
 * when its error rate during the fault exceeds `maxErrorRate`.
 */
export function podKill(name: string, outageMs: number, maxErrorRate = 0.18): ExperimentResult {
  const injectedAt = T0 + 2000;
  const capacityRestoredAt = injectedAt + 900 + outageMs;
  const samples: Sample[] = [];
  for (let i = 0; i < 300; i++) {
    const dueAt = T0 + i * 20;
    const second = i % 2 ? (dueAt >= capacityRestoredAt ? 'c' : 'b') : 'a';
    const dead = second === 'b' && dueAt + 15 >= injectedAt && dueAt < injectedAt + outageMs;
    const latencyMs = dead
      ? 5
      : 12 + (i % 7) * 3 + (dueAt > injectedAt && dueAt < capacityRestoredAt ? 25 : 0);
    samples.push({
      dueAt,
      completedAt: dueAt + latencyMs,
      latencyMs,
      lagMs: 0,
      status: dead ? 502 : 201,
      attempts: 1,
      request: 0,
      ok: !dead,
      ...(dead ? {} : { servedBy: `order-service-${second}` }),
    });
  }
  // A disruption's window closes when capacity is back (runner.ts).
  const windows = attribute(samples, injectedAt, capacityRestoredAt);
  const recovery = phases('disruption', samples, injectedAt, injectedAt, {
    terminatedAt: injectedAt + 400,
    capacityRestoredAt,
  });
  const totalMs = Math.max(recovery.capacityRestoredMs ?? 0, recovery.userFacingMs ?? 0);
  const during = windowStats(windows.during);
  const acknowledged = samples.filter((s) => s.status === 201).length;
  const result: ExperimentResult = {
    name,
    type: 'pod-kill',
    service: 'order-service',
    backend: 'local',
    parameters: { count: 1 },
    status: 'pass',
    warnings: [],
    startedAt: new Date(T0).toISOString(),
    finishedAt: new Date(T0 + 6000).toISOString(),
    fault: {
      injectedAt: new Date(injectedAt).toISOString(),
      removedAt: new Date(capacityRestoredAt).toISOString(),
      verified: true,
      evidence: 'order-service-b exited on SIGKILL',
      summary: 'kill 1 of 2 order-service replicas (order-service-b)',
    },
    recovery: { ...recovery, totalMs },
    traffic: {
      rps: 50,
      before: windowStats(windows.before),
      during,
      after: windowStats(windows.after),
      replicas: replicaTraffic(samples, windows.before, T0, 1000),
    },
    integrity: {
      acknowledged,
      readBack: acknowledged,
      missing: [],
      passed: true,
    },
    probes: { before: [], during: [], after: [] },
    thresholds: [
      {
        name: 'capacity-restored',
        limit: 30_000,
        measured: recovery.capacityRestoredMs ?? -1,
        unit: 'ms',
        passed: true,
      },
      {
        name: 'error-rate',
        limit: maxErrorRate,
        measured: during.errorRate,
        unit: 'ratio',
        passed: during.errorRate <= maxErrorRate,
      },
    ],
    timeline: timeline(samples, T0, 100),
    events: [],
  };
  if (!result.thresholds.every((t) => t.passed)) result.status = 'fail';
  return result;
}

import type { Sample } from './load.js';

export interface WindowStats {
  requests: number;
  failed: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

/** A request failed when the platform could not serve it (5xx or no answer); 4xx are answers. */
export const failed = (sample: Sample) => sample.status === 0 || sample.status >= 500;

export function windowStats(samples: readonly Sample[]): WindowStats {
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const failures = samples.filter(failed).length;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: samples.length,
    failed: failures,
    errorRate: samples.length ? round((failures / samples.length) * 10_000) / 10_000 : 0,
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
  };
}

/** Per-second series for charts: throughput, failures and p95 by due time. */
export function timeline(samples: readonly Sample[], origin: number) {
  const buckets = new Map<number, Sample[]>();
  for (const sample of samples) {
    const second = Math.floor((sample.dueAt - origin) / 1000);
    buckets.set(second, [...(buckets.get(second) ?? []), sample]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, bucket]) => ({ second, ...windowStats(bucket) }));
}

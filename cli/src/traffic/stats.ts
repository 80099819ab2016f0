// Figures over load samples. Percentiles come from an HDR histogram (hdr-histogram-js) instead of
// sorting every latency: latencies are recorded in whole microseconds with 3 significant digits, so
// a reported percentile is the upper end of the bucket holding the exact nearest-rank value, at most
// 1/1024 of that value above it (plus under half a microsecond of rounding), never below it.
import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';
import type { Sample } from './load.js';

export interface WindowStats {
  requests: number;
  /** Failed in the end: after the client's retries, when it retries. */
  failed: number;
  /** Needed more than one attempt (cut off, refused, 429 or 5xx, then sent again), whatever the outcome. */
  retried: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  // The tolerance keeps a rank that floating point puts a hair above an integer (99.9% of 50,000
  // is 49,950.000000000004) from skipping to the next value, as the HDR histogram does.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? 0;
}

/** A request failed when its last attempt got none of its success statuses (or no answer at all). */
export const failed = (sample: Sample) => !sample.ok;

/** Latencies in ms, kept as an HDR histogram of microseconds (1 us to an hour, 3 digits). */
export class LatencyHistogram {
  private readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    // Beyond an hour a latency is clamped, not a reason to grow (or throw) mid-report.
    autoResize: false,
  });

  /** A histogram that encode() wrote (in another thread): the same counts in the same buckets. */
  static decode(encoded: string): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.histogram.add(decodeFromCompressedBase64(encoded));
    return histogram;
  }

  /** Compact text of every bucket's count (HdrHistogram's compressed form), to send to another thread. */
  encode(): string {
    return encodeIntoCompressedBase64(this.histogram);
  }

  /** Adds another histogram's counts, as if its latencies had been recorded here. */
  add(other: LatencyHistogram): void {
    this.histogram.add(other.histogram);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  record(ms: number): void {
    this.histogram.recordValue(Math.min(3_600_000_000, Math.max(0, Math.round(ms * 1000))));
  }

  /** Nearest-rank percentile in ms (0 when empty), within the error bound stated above. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : this.histogram.getValueAtPercentile(p) / 1000;
  }

  reset(): void {
    this.histogram.reset();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function statsOf(samples: readonly Sample[], histogram: LatencyHistogram): WindowStats {
  histogram.reset();
  let failures = 0;
  let retried = 0;
  for (const sample of samples) {
    histogram.record(sample.latencyMs);
    if (failed(sample)) failures++;
    if (sample.attempts > 1) retried++;
  }
  return figures(samples.length, failures, retried, histogram);
}

/** The figures of `requests` requests, `failures` of them failed, their latencies in `latency`. */
function figures(
  requests: number,
  failures: number,
  retried: number,
  latency: LatencyHistogram,
): WindowStats {
  return {
    requests,
    failed: failures,
    retried,
    errorRate: requests ? Math.round((failures / requests) * 10_000) / 10_000 : 0,
    p50Ms: round1(latency.percentile(50)),
    p95Ms: round1(latency.percentile(95)),
    p99Ms: round1(latency.percentile(99)),
  };
}

export function windowStats(samples: readonly Sample[]): WindowStats {
  return statsOf(samples, new LatencyHistogram());
}

/** Bucket index of every sample by due time: one pass, so the whole timeline is linear time. */
export function buckets(samples: readonly Sample[], origin: number, bucketMs: number): Map<number, Sample[]> {
  const byBucket = new Map<number, Sample[]>();
  for (const sample of samples) {
    const index = Math.floor((sample.dueAt - origin) / bucketMs);
    const bucket = byBucket.get(index);
    if (bucket) bucket.push(sample);
    else byBucket.set(index, [sample]);
  }
  return byBucket;
}

/**
 * Series for charts by due time: requests, failures, retried requests and latency percentiles per
 * bucket of `bucketMs` (1 s by default; 100 ms for fine charts). `second` is the bucket's start, in
 * seconds from `origin` (fractional below 1 s buckets).
 */
export function timeline(samples: readonly Sample[], origin: number, bucketMs = 1000) {
  const histogram = new LatencyHistogram();
  return [...buckets(samples, origin, bucketMs).entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, bucket]) => ({
      second: Math.round(index * bucketMs) / 1000,
      ...statsOf(bucket, histogram),
    }));
}

/** Answers per replica (from X-Served-By); no answer, or a service that does not say: "unknown". */
function perReplica(samples: readonly Sample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of samples) {
    const replica = sample.servedBy ?? 'unknown';
    counts[replica] = (counts[replica] ?? 0) + 1;
  }
  return counts;
}

/**
 * Traffic per replica: answers each replica gave, each one's share of the `before` window's (how
 * evenly the load was spread before any fault), and, per bucket of `bucketMs` by due time, how many.
 */
export function replicaTraffic(
  samples: readonly Sample[],
  before: readonly Sample[],
  origin: number,
  bucketMs = 1000,
) {
  const totals = perReplica(samples);
  const beforeShare = Object.fromEntries(
    Object.entries(perReplica(before)).map(([replica, n]) => [
      replica,
      Math.round((n / before.length) * 1000) / 1000,
    ]),
  );
  const series = [...buckets(samples, origin, bucketMs).entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, bucket]) => ({ second: Math.round(index * bucketMs) / 1000, counts: perReplica(bucket) }));
  return { totals, beforeShare, series };
}

/**
 * A run in counts and histograms, without its samples: what a generator thread hands back, small
 * whatever the run's length, and what threads' runs add up to.
 */
export interface RunSummary {
  /** Requests due, sent or not. */
  requests: number;
  /** Requests whose last attempt got one of its success statuses. */
  ok: number;
  /** Needed more than one attempt. */
  retried: number;
  /** Never left: maxInFlight was reached when they were due. */
  shed: number;
  /** Left but got no answer (refused, reset, timed out). */
  unanswered: number;
  /** Latency from due time, every request's. */
  latency: LatencyHistogram;
  /** How late each request's first attempt left after its due time. */
  lag: LatencyHistogram;
}

export function summarise(samples: readonly Sample[]): RunSummary {
  const summary: RunSummary = {
    requests: samples.length,
    ok: 0,
    retried: 0,
    shed: 0,
    unanswered: 0,
    latency: new LatencyHistogram(),
    lag: new LatencyHistogram(),
  };
  for (const sample of samples) {
    summary.latency.record(sample.latencyMs);
    summary.lag.record(sample.lagMs);
    if (sample.ok) summary.ok++;
    if (sample.attempts > 1) summary.retried++;
    if (sample.attempts === 0) summary.shed++;
    else if (sample.status === 0) summary.unanswered++;
  }
  return summary;
}

/** Several runs' summaries as one: counts added, histograms merged bucket by bucket. */
export function mergeSummaries(parts: readonly RunSummary[]): RunSummary {
  const merged = summarise([]);
  for (const part of parts) {
    merged.requests += part.requests;
    merged.ok += part.ok;
    merged.retried += part.retried;
    merged.shed += part.shed;
    merged.unanswered += part.unanswered;
    merged.latency.add(part.latency);
    merged.lag.add(part.lag);
  }
  return merged;
}

/** A summary's figures, the same as windowStats() gives for the samples it summarises. */
export const summaryStats = (summary: RunSummary): WindowStats =>
  figures(summary.requests, summary.requests - summary.ok, summary.retried, summary.latency);

/** A summary as plain data that postMessage copies (its histograms encoded). */
export type EncodedSummary = Omit<RunSummary, 'latency' | 'lag'> & { latency: string; lag: string };

export const encodeSummary = (summary: RunSummary): EncodedSummary => ({
  ...summary,
  latency: summary.latency.encode(),
  lag: summary.lag.encode(),
});

export const decodeSummary = (encoded: EncodedSummary): RunSummary => ({
  ...encoded,
  latency: LatencyHistogram.decode(encoded.latency),
  lag: LatencyHistogram.decode(encoded.lag),
});

import { describe, expect, it } from '@jest/globals';
import type { Sample } from './load.js';
import {
  decodeSummary,
  encodeSummary,
  LatencyHistogram,
  mergeSummaries,
  percentile,
  replicaTraffic,
  summarise,
  summaryStats,
  timeline,
  windowStats,
} from './stats.js';

const sample = (dueAt: number, latencyMs: number, status = 201, servedBy?: string): Sample => ({
  dueAt,
  completedAt: dueAt + latencyMs,
  latencyMs,
  lagMs: 0,
  status,
  attempts: 1,
  request: 0,
  ok: status === 201,
  ...(servedBy ? { servedBy } : {}),
});

const attempts = (s: Sample, n: number): Sample => ({ ...s, attempts: n });

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('LatencyHistogram', () => {
  it('reports every percentile at or above the exact nearest-rank value and within 1/1024 of it', () => {
    const next = random(42);
    // Log-uniform from 10 us to 30 s: every magnitude the generator can see.
    const latencies = Array.from({ length: 50_000 }, () => 0.01 * 3_000_000 ** next());
    const histogram = new LatencyHistogram();
    for (const ms of latencies) histogram.record(ms);
    const sorted = [...latencies].sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 95, 99, 99.9, 100]) {
      const exact = percentile(sorted, p);
      const reported = histogram.percentile(p);
      // Recorded in whole microseconds (half a microsecond of rounding either way).
      expect(reported).toBeGreaterThanOrEqual(exact - 0.0005);
      expect(reported).toBeLessThanOrEqual(exact * (1 + 1 / 1024) + 0.0005);
    }
  });

  it('clamps what it cannot hold instead of throwing, and reads 0 when empty', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentile(99)).toBe(0);
    histogram.record(-3);
    histogram.record(10 * 3_600_000);
    expect(histogram.count).toBe(2);
    expect(histogram.percentile(100)).toBeGreaterThanOrEqual(3_600_000);
  });
});

describe('windowStats', () => {
  it('counts as failed what got none of its success statuses, and takes percentiles from the latencies', () => {
    const samples = [
      ...Array.from({ length: 95 }, (_, i) => sample(i, i + 1)),
      sample(95, 500, 0),
      sample(96, 500, 503),
      sample(97, 500, 409),
      // A 409 that its request declares a success (a duplicate refused as expected, say).
      { ...sample(98, 500, 409), ok: true },
      sample(99, 500, 201),
    ];
    const stats = windowStats(samples);
    expect(stats).toMatchObject({ requests: 100, failed: 3, errorRate: 0.03 });
    expect(stats.p50Ms).toBe(50);
    expect(stats.p95Ms).toBe(95);
    // 500 ms lies in a 0.256 ms bucket: the figure is its upper end, rounded to 0.1 ms.
    expect(stats.p99Ms).toBeGreaterThanOrEqual(500);
    expect(stats.p99Ms).toBeLessThanOrEqual(500.3);
  });

  it('counts as retried every request that took more than one attempt, whatever its outcome', () => {
    const stats = windowStats([
      sample(0, 5),
      attempts(sample(1, 30), 2),
      attempts(sample(2, 90, 0), 3),
      attempts(sample(3, 90, 503), 2),
      attempts(sample(4, 1, 0), 0),
    ]);
    // A retried order that ended in 201 is no failure; one still without an answer after its retries
    // is both; one shed before it left (0 attempts) is a failure, never a retry.
    expect(stats).toMatchObject({ requests: 5, failed: 3, retried: 3 });
    expect(windowStats([sample(0, 5), sample(1, 5, 503)])).toMatchObject({ failed: 1, retried: 0 });
  });
});

describe('timeline', () => {
  it('buckets by due time at the resolution asked, with each bucket its own figures', () => {
    const origin = 1_000_000;
    const samples = [
      sample(origin + 250, 10),
      sample(origin + 10, 5),
      attempts(sample(origin + 90, 7, 503), 3),
      sample(origin + 1010, 30),
      sample(origin - 50, 1),
    ];
    expect(timeline(samples, origin, 100)).toEqual([
      { second: -0.1, requests: 1, failed: 0, retried: 0, errorRate: 0, p50Ms: 1, p95Ms: 1, p99Ms: 1 },
      { second: 0, requests: 2, failed: 1, retried: 1, errorRate: 0.5, p50Ms: 5, p95Ms: 7, p99Ms: 7 },
      { second: 0.2, requests: 1, failed: 0, retried: 0, errorRate: 0, p50Ms: 10, p95Ms: 10, p99Ms: 10 },
      { second: 1, requests: 1, failed: 0, retried: 0, errorRate: 0, p50Ms: 30, p95Ms: 30, p99Ms: 30 },
    ]);
    expect(timeline(samples, origin).map((t) => [t.second, t.requests])).toEqual([
      [-1, 1],
      [0, 3],
      [1, 1],
    ]);
  });

  it('handles a long run in time proportional to its samples', () => {
    // 300k samples (10 min at 500/s) at 100 ms: the quadratic version took seconds on a tenth of it.
    const samples = Array.from({ length: 300_000 }, (_, i) => sample(i * 2, 1 + (i % 50)));
    const series = timeline(samples, 0, 100);
    expect(series).toHaveLength(6000);
    expect(series.every((t) => t.requests === 50)).toBe(true);
  });
});

describe('replicaTraffic', () => {
  it("counts answers per replica in total and per bucket, each one's share before the fault, unknown when the answer did not say", () => {
    const samples = [
      sample(0, 1, 201, 'order-service-0'),
      sample(50, 1, 201, 'order-service-1'),
      sample(120, 1, 201, 'order-service-0'),
      sample(130, 1, 0),
    ];
    expect(replicaTraffic(samples, samples.slice(0, 3), 0, 100)).toEqual({
      totals: { 'order-service-0': 2, 'order-service-1': 1, unknown: 1 },
      beforeShare: { 'order-service-0': 0.667, 'order-service-1': 0.333 },
      series: [
        { second: 0, counts: { 'order-service-0': 1, 'order-service-1': 1 } },
        { second: 0.1, counts: { 'order-service-0': 1, unknown: 1 } },
      ],
    });
  });
});

describe('run summaries (what generator threads hand back)', () => {
  it("merged from encoded parts, give the same figures as the whole run's samples", () => {
    const next = random(7);
    // Three threads' runs with different spreads, some failed, retried, shed or unanswered.
    const parts = [0, 1, 2].map((part) =>
      Array.from({ length: 3000 + part * 500 }, (_, i) => {
        const latency = (1 + next() * 40) * (part + 1) + (i % 97 === 0 ? 900 : 0);
        const status = i % 50 === 0 ? 503 : i % 71 === 0 ? 0 : 201;
        const s = { ...sample(i, latency, status), lagMs: next() * 3 };
        return i % 60 === 0 ? { ...s, attempts: 0 } : i % 45 === 0 ? attempts(s, 3) : s;
      }),
    );
    const all = parts.flat();
    // Across threads as postMessage would: plain data, copied.
    const merged = mergeSummaries(
      parts.map((p) => decodeSummary(structuredClone(encodeSummary(summarise(p))))),
    );

    expect(summaryStats(merged)).toEqual(windowStats(all));
    expect(merged.requests).toBe(all.length);
    expect(merged.ok).toBe(all.filter((s) => s.ok).length);
    expect(merged.retried).toBe(all.filter((s) => s.attempts > 1).length);
    expect(merged.shed).toBe(all.filter((s) => s.attempts === 0).length);
    expect(merged.unanswered).toBe(all.filter((s) => s.attempts > 0 && s.status === 0).length);
    expect(merged.latency.count).toBe(all.length);
    // Every percentile within the histogram's precision of the exact nearest-rank value.
    const exact = all.map((s) => s.latencyMs).sort((a, b) => a - b);
    const lags = all.map((s) => s.lagMs).sort((a, b) => a - b);
    for (const p of [1, 25, 50, 90, 99, 99.9, 100]) {
      const want = percentile(exact, p);
      expect(merged.latency.percentile(p)).toBeGreaterThanOrEqual(want - 0.0005);
      expect(merged.latency.percentile(p)).toBeLessThanOrEqual(want * (1 + 1 / 1024) + 0.0005);
      expect(merged.lag.percentile(p)).toBeGreaterThanOrEqual(percentile(lags, p) - 0.0005);
      expect(merged.lag.percentile(p)).toBeLessThanOrEqual(percentile(lags, p) * (1 + 1 / 1024) + 0.0005);
    }
  });

  it('of no samples: zero requests and zero percentiles', () => {
    expect(summaryStats(mergeSummaries([summarise([]), summarise([])]))).toEqual(windowStats([]));
  });
});

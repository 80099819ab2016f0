// A PromQL probe: one instant query against Prometheus' HTTP API, its scalar or every sample of its
// vector compared as the probe says.
//
// The request and the answer follow Prometheus' documented HTTP API
// (https://prometheus.io/docs/prometheus/latest/querying/api/, "Instant queries" and "Expression
// query result formats"): GET /api/v1/query?query=...; the envelope's status is "success" or
// "error" (then errorType and error, with a 400, 422 or 503); data.resultType is scalar
// ([<unix_time>, "<value>"]), vector ([{metric, value: [<unix_time>, "<value>"]}], or `histogram`
// instead of `value` for a native histogram), matrix or string. Sample values are strings because
// they may be NaN, +Inf or -Inf.
import { request } from 'undici';
import { parseDuration } from '../experiments/duration.js';
import type { ProbePhase, PromqlProbeSpec } from '../suite/schema.js';
import { type Before, type Comparison, compare, comparisonOf } from './compare.js';
import { type Probe, type Reading, reasonOf } from './probe.js';

const DEFAULT_TIMEOUT_MS = 5000;

export type InstantResult =
  | { type: 'scalar'; value: number }
  | { type: 'vector'; samples: Array<{ series: string; value: number }> };

/** A series' labels as PromQL writes them: name{label="value",...}. */
export function seriesOf(metric: Record<string, string>): string {
  const { __name__: name = '', ...labels } = metric;
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${pairs.join(',')}}`;
}

const sampleValue = (text: unknown): number => {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return typeof text === 'string' ? Number(text) : Number.NaN;
};

interface Envelope {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

/**
 * Runs `query` at Prometheus' current time. Throws an Error whose message is one line when
 * Prometheus does not answer, answers an error, or the result is not a scalar or a vector of floats.
 */
export async function instantQuery(
  baseUrl: string,
  query: string,
  timeoutMs: number,
): Promise<InstantResult> {
  const url = `${baseUrl.replace(/\/+$/, '')}/api/v1/query?${new URLSearchParams({ query })}`;
  let statusCode: number;
  let text: string;
  try {
    const res = await request(url, { signal: AbortSignal.timeout(timeoutMs) });
    statusCode = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    throw new Error(`Prometheus at ${baseUrl}: ${reasonOf(err, timeoutMs)}`);
  }
  let envelope: Envelope;
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch {
    throw new Error(`Prometheus at ${baseUrl} answered ${statusCode} without JSON`);
  }
  if (envelope.status !== 'success')
    throw new Error(
      `Prometheus refused the query (${statusCode} ${String(envelope.errorType)}): ${String(envelope.error)}`,
    );
  const { resultType, result } = envelope.data ?? {};
  if (resultType === 'scalar' && Array.isArray(result))
    return { type: 'scalar', value: sampleValue(result[1]) };
  if (resultType === 'vector' && Array.isArray(result))
    return {
      type: 'vector',
      samples: (result as Array<{ metric?: Record<string, string>; value?: unknown[] }>).map((sample) => {
        const series = seriesOf(sample.metric ?? {});
        if (!Array.isArray(sample.value))
          throw new Error(`${series} is a native histogram, which has no single value to compare`);
        return { series, value: sampleValue(sample.value[1]) };
      }),
    };
  if (resultType === 'matrix' || resultType === 'string')
    throw new Error(
      `the query returned a ${resultType}: a probe compares a scalar or an instant vector${resultType === 'matrix' ? ' (drop the range selector, or wrap it in a function such as rate())' : ''}`,
    );
  throw new Error(`Prometheus answered an unknown resultType ${JSON.stringify(resultType)}`);
}

export class PromqlProbe implements Probe {
  private readonly comparison: Comparison;
  private readonly timeoutMs: number;

  /** `field` names the probe in refusals, e.g. probes[2]. */
  constructor(
    readonly name: string,
    private readonly spec: PromqlProbeSpec,
    field: string,
  ) {
    this.comparison = comparisonOf(spec, `${field}.promql`);
    this.timeoutMs =
      spec.timeout === undefined
        ? DEFAULT_TIMEOUT_MS
        : parseDuration(spec.timeout, `${field}.promql.timeout`);
  }

  async read(phase: ProbePhase, before: Before): Promise<Reading> {
    const started = performance.now();
    let result: InstantResult;
    try {
      result = await instantQuery(this.spec.url, this.spec.query, this.timeoutMs);
    } catch (err) {
      return {
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        detail: (err as Error).message,
      };
    }
    const latencyMs = Math.round(performance.now() - started);
    if (result.type === 'scalar')
      return { latencyMs, value: result.value, ...compare(this.comparison, result.value, phase, before) };
    if (result.samples.length === 0)
      return this.spec.emptyPasses
        ? { ok: true, latencyMs, value: {}, detail: 'no data (emptyPasses)' }
        : { ok: false, latencyMs, value: {}, detail: 'no data: the query returned no series' };
    const value = Object.fromEntries(result.samples.map((s) => [s.series, s.value]));
    // unchanged: the whole vector, so a series that appeared or vanished counts too.
    if (this.comparison.op === 'unchanged')
      return { latencyMs, value, ...compare(this.comparison, value, phase, before) };
    const failing = result.samples.flatMap((s) => {
      const verdict = compare(this.comparison, s.value, phase, before);
      return verdict.ok ? [] : [`${s.series} ${verdict.detail}`];
    });
    if (failing.length === 0)
      return { ok: true, latencyMs, value, detail: `${result.samples.length} series, each passes` };
    return {
      ok: false,
      latencyMs,
      value,
      detail: `${failing.length} of ${result.samples.length} series fail: ${failing.slice(0, 3).join('; ')}${failing.length > 3 ? '; …' : ''}`,
    };
  }
}

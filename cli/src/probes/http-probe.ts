// An HTTP probe: one request to a target (or a URL), passing on its status, its latency and, with
// `json`, a JSONata expression over its JSON body compared as the probe says.
import jsonata from 'jsonata';
import { request } from 'undici';
import { UsageError } from '../errors.js';
import { parseDuration } from '../experiments/duration.js';
import type { HttpProbeSpec, ProbePhase } from '../suite/schema.js';
import { type Before, type Comparison, compare, comparisonOf, show } from './compare.js';
import { type Probe, type Reading, reasonOf } from './probe.js';

const DEFAULT_TIMEOUT_MS = 5000;

/** Where a target's traffic enters, as the driver knows it (e.g. http://127.0.0.1:4000). */
export type UrlOf = (target: string) => Promise<string>;

export class HttpProbe implements Probe {
  private readonly timeoutMs: number;
  private readonly maxLatencyMs: number | undefined;
  private readonly json: { expression: jsonata.Expression; comparison: Comparison } | undefined;
  private readonly body: string | undefined;
  private readonly headers: Record<string, string>;

  /** `field` names the probe in refusals, e.g. probes[2]; the constructor compiles and checks it all. */
  constructor(
    readonly name: string,
    private readonly spec: HttpProbeSpec,
    field: string,
    private readonly urlOf: UrlOf,
  ) {
    if ((spec.target === undefined) === (spec.url === undefined))
      throw new UsageError(`${field}.http: give exactly one of target, url`);
    this.timeoutMs =
      spec.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(spec.timeout, `${field}.http.timeout`);
    this.maxLatencyMs =
      spec.maxLatency === undefined ? undefined : parseDuration(spec.maxLatency, `${field}.http.maxLatency`);
    if (spec.json) {
      let expression: jsonata.Expression;
      try {
        expression = jsonata(spec.json.expression);
      } catch (err) {
        const message = (err as { message?: string }).message ?? String(err);
        throw new UsageError(`${field}.http.json.expression of probe "${name}": ${message}`);
      }
      this.json = { expression, comparison: comparisonOf(spec.json, `${field}.http.json`) };
    }
    this.headers = { ...spec.headers };
    if (spec.body === undefined || typeof spec.body === 'string') this.body = spec.body;
    else {
      this.body = JSON.stringify(spec.body);
      if (!Object.keys(this.headers).some((h) => h.toLowerCase() === 'content-type'))
        this.headers['content-type'] = 'application/json';
    }
  }

  async read(phase: ProbePhase, before: Before): Promise<Reading> {
    const started = performance.now();
    const latencyMs = () => Math.round(performance.now() - started);
    let status: number;
    let text: string | undefined;
    try {
      const base =
        this.spec.target === undefined ? (this.spec.url as string) : await this.urlOf(this.spec.target);
      // The path joins the base's own path (a target behind an ingress prefix); no path: the URL as given.
      const url = this.spec.path === undefined ? base : base.replace(/\/+$/, '') + this.spec.path;
      const res = await request(url, {
        method: this.spec.method ?? 'GET',
        headers: this.headers,
        body: this.body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      if (this.json) text = await res.body.text();
      else await res.body.dump();
    } catch (err) {
      return { ok: false, latencyMs: latencyMs(), detail: reasonOf(err, this.timeoutMs) };
    }
    const took = latencyMs();
    const answered = `${status} in ${took} ms`;
    const statusOk = this.spec.status ? this.spec.status.includes(status) : status >= 200 && status < 300;
    if (!statusOk)
      return {
        ok: false,
        latencyMs: took,
        value: status,
        detail: `answered ${answered}, expected ${this.spec.status ? this.spec.status.join(' or ') : '2xx'}`,
      };
    let value: unknown = status;
    let detail = answered;
    if (this.json) {
      const verdict = await this.evaluate(this.json, text ?? '', phase, before);
      if (!verdict.ok)
        return { ok: false, latencyMs: took, value: verdict.value, detail: `${answered}: ${verdict.detail}` };
      value = verdict.value;
      detail = `${answered}: ${verdict.detail}`;
    }
    if (this.maxLatencyMs !== undefined && took > this.maxLatencyMs)
      return {
        ok: false,
        latencyMs: took,
        value,
        detail: `${detail}; slower than maxLatency ${this.maxLatencyMs} ms`,
      };
    return { ok: true, latencyMs: took, value, detail };
  }

  private async evaluate(
    json: NonNullable<HttpProbe['json']>,
    text: string,
    phase: ProbePhase,
    before: Before,
  ): Promise<{ ok: boolean; value?: unknown; detail: string }> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, detail: `the body is not JSON: ${show(text)}` };
    }
    let value: unknown;
    try {
      // A plain JSON copy: JSONata's sequences are arrays with extra markers, and `unchanged`
      // compares what was read before with what is read now.
      const copy = JSON.stringify(await json.expression.evaluate(body));
      value = copy === undefined ? undefined : JSON.parse(copy);
    } catch (err) {
      return { ok: false, detail: `${this.spec.json?.expression} failed: ${(err as Error).message}` };
    }
    return { value, ...compare(json.comparison, value, phase, before) };
  }
}

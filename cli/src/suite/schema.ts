// A suite file, version 2: the system under test (targets), what its users do (traffic, with the
// read-back that proves nothing acknowledged was lost), what "healthy" means (probes, the
// steady-state hypothesis), when to stop at once (abort) and the experiments. One TypeBox schema
// validates files and flags alike and is published as JSON Schema (docs/schemas/suite-v2.json).
// Version 1 files (the demo shop's traffic implied) still load: see upgrade.ts.
import { type Static, type TLiteral, type TObject, type TProperties, type TSchema, Type } from 'typebox';
import { Duration, MAX_RETRIES, MAX_RETRY_BACKOFF_MS, TARGET_NAME, Text } from '../experiments/fields.js';
import { FAULTS } from '../faults/registry.js';
import { MAX_RPS } from '../traffic/limits.js';
import { PATH } from './local-run.js';

/** Path text in which templates may hold spaces ({{int 1 5}}); elsewhere no whitespace. */
const TEMPLATED = '(?:[^\\s{]|\\{(?!\\{)|\\{\\{[^}]*\\}\\})*';

import { HTTP_URL, TargetSchema } from './target.js';

export { type LocalRun, LocalRunSchema } from './local-run.js';
export { TargetSchema, type TargetSpec } from './target.js';

/** A target's name, as the suite's other parts refer to it. */
export const TargetRef = () => Text(TARGET_NAME, "the name of one of the suite's targets, such as checkout");

/** An HTTP header's name (RFC 9110 token). */
const HEADER = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

/**
 * One of `values`. The cast keeps each literal in the static type: map() turns the tuple into an
 * array, whose union Static reads as never (every `method` and `when` was typed never/undefined).
 */
const OneOf = <const T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v) => Type.Literal(v)) as unknown as [TLiteral<T[number]>]);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const Method = () => OneOf(METHODS);
const Statuses = () =>
  Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1, maxItems: 50, uniqueItems: true });
const Headers = () => Type.Record(Type.String({ pattern: HEADER }), Type.String());

/**
 * A body: a string template, or any JSON value whose strings are templates ({{uuid}}, {{seq}},
 * {{int 1 5}}, {{pick a b c}}; in a read-back also {{response.<field>}} and {{request.<part>}}).
 * A string that is exactly one {{int}} or {{seq}} becomes a number in a JSON body.
 */
const Body = () => Type.Unknown();

export const ReadBackSchema = Type.Object(
  {
    /** Default: the request's own target. */
    target: Type.Optional(TargetRef()),
    method: Type.Optional(Method()),
    /** e.g. /items/{{response.id}}, or {{request.path}} (what the request itself created). */
    path: Text(`^(?:/|(?=\\{\\{))${TEMPLATED}$`, 'a path such as /items/{{response.id}} or {{request.path}}'),
    headers: Type.Optional(Headers()),
    /** Statuses that prove it is there (default 200). */
    success: Type.Optional(Statuses()),
    /** A JSONata expression over the answer's JSON body that must be true, e.g. status = 'confirmed'. */
    expect: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const RequestSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    target: TargetRef(),
    method: Type.Optional(Method()),
    path: Text(`^/${TEMPLATED}$`, 'a path such as /items?page={{int 1 5}}'),
    headers: Type.Optional(Headers()),
    body: Type.Optional(Body()),
    /** Share of the traffic, relative to the other requests' weights (default 1). */
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 })),
    /** Statuses that count as success (default: any 2xx). */
    success: Type.Optional(Statuses()),
    /**
     * A header sent with one value (a UUID) on every attempt of a request: a POST or PATCH is retried
     * only when it has one (GET, HEAD, PUT, DELETE and OPTIONS are idempotent by HTTP's own rules).
     */
    idempotencyHeader: Type.Optional(Text(HEADER, 'a header name such as Idempotency-Key')),
    /** After the chaos, every acknowledged request is read back this way and must succeed. */
    readBack: Type.Optional(ReadBackSchema),
  },
  { additionalProperties: false },
);

export const TrafficSchema = Type.Object(
  {
    /** Requests per second, the whole mix (open model: sent on schedule whatever the answers). */
    rps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_RPS })),
    /** Traffic before the fault (the baseline) and after it. */
    warmup: Type.Optional(Duration()),
    cooldown: Type.Optional(Duration()),
    /** Client retries of a request that got no answer, a 429 or a 5xx (idempotent ones only). */
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRIES })),
    /** Wait before the first retry, doubled for each next one. */
    retryBackoff: Type.Optional(Duration({ maxMs: MAX_RETRY_BACKOFF_MS })),
    /** How long one attempt waits for its answer (default 10s). */
    timeout: Type.Optional(Duration({ nonZero: 'a request needs time to be answered' })),
    requests: Type.Array(RequestSchema, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);

/** What a probe's value is compared with: exactly one of these. */
const comparisons = {
  equals: Type.Optional(Type.Unknown()),
  notEquals: Type.Optional(Type.Unknown()),
  below: Type.Optional(Type.Number()),
  atMost: Type.Optional(Type.Number()),
  above: Type.Optional(Type.Number()),
  atLeast: Type.Optional(Type.Number()),
  /** The same value as the probe read before the fault (deep equality), e.g. conserved stock. */
  unchanged: Type.Optional(Type.Literal(true)),
};
export const COMPARISONS = Object.keys(comparisons);

export const HttpProbeSchema = Type.Object(
  {
    /** Either a target (its URL, as traffic reaches it) or a URL. */
    target: Type.Optional(TargetRef()),
    url: Type.Optional(Text(HTTP_URL, 'an http:// or https:// URL')),
    method: Type.Optional(Method()),
    path: Type.Optional(Text(PATH, 'a path such as /healthz')),
    headers: Type.Optional(Headers()),
    body: Type.Optional(Body()),
    /** Statuses that pass (default: any 2xx). */
    status: Type.Optional(Statuses()),
    /** The answer must come within this. */
    maxLatency: Type.Optional(Duration({ nonZero: 'no answer comes in 0 ms' })),
    /** A JSONata expression over the JSON body, compared as below. */
    json: Type.Optional(
      Type.Object(
        { expression: Type.String({ minLength: 1, maxLength: 2000 }), ...comparisons },
        { additionalProperties: false },
      ),
    ),
    /** How long to wait for an answer at all (default 5s). */
    timeout: Type.Optional(Duration({ nonZero: 'no answer comes in 0 ms' })),
  },
  { additionalProperties: false },
);

export const PromqlProbeSchema = Type.Object(
  {
    /** Prometheus' base URL, e.g. http://prometheus:9090. */
    url: Text(HTTP_URL, 'an http:// or https:// URL'),
    /** An instant query; a scalar, or every sample of a vector, is compared. */
    query: Type.String({ minLength: 1, maxLength: 10_000 }),
    ...comparisons,
    /** An empty vector passes (default: it fails: no data is not a healthy system). */
    emptyPasses: Type.Optional(Type.Boolean()),
    timeout: Type.Optional(Duration({ nonZero: 'no answer comes in 0 ms' })),
  },
  { additionalProperties: false },
);

export const PROBE_PHASES = ['before', 'during', 'after'] as const;
const probeCommon = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  /**
   * before: must hold before the fault (no fault is injected otherwise); during: sampled while the
   * fault is on (abort conditions may watch it); after: must hold again within the recovery SLA.
   * Default: all three.
   */
  when: Type.Optional(Type.Array(OneOf(PROBE_PHASES), { minItems: 1, uniqueItems: true })),
  /** Sampling period while the fault is on (default 1s). */
  every: Type.Optional(Duration({ nonZero: 'a probe needs time between samples' })),
};
export const ProbeSchema = Type.Union([
  Type.Object({ ...probeCommon, http: HttpProbeSchema }, { additionalProperties: false }),
  Type.Object({ ...probeCommon, promql: PromqlProbeSchema }, { additionalProperties: false }),
]);

export const AbortSchema = Type.Union([
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      /** A probe (by name) that keeps failing this long while the fault is on. */
      probe: Type.String({ minLength: 1, maxLength: 100 }),
      for: Type.Optional(Duration()),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      /** Share of the traffic's requests that failed over the last `window`, above which it stops. */
      errorRate: Type.Number({ minimum: 0, maximum: 1 }),
      window: Type.Optional(Duration({ nonZero: 'an error rate needs a window' })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      /** A PromQL expression: any sample with a non-zero value stops the experiment. */
      promql: Type.Object(
        {
          url: Text(HTTP_URL, 'an http:// or https:// URL'),
          query: Type.String({ minLength: 1, maxLength: 10_000 }),
        },
        { additionalProperties: false },
      ),
      for: Type.Optional(Duration()),
    },
    { additionalProperties: false },
  ),
]);

/** A fault's experiment as a v2 file writes it: `target` names one of the suite's targets. */
function fileExperiment(schema: TObject): TObject {
  const {
    service: _service,
    selector: _selector,
    workload: _workload,
    ...own
  } = schema.properties as TProperties;
  return Type.Object({ ...own, target: TargetRef() }, { additionalProperties: false });
}

export const FileExperimentSchema = Type.Union(FAULTS.map((fault) => fileExperiment(fault.schema)));

export const SuiteV2Schema = Type.Object(
  {
    version: Type.Literal(2),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    targets: Type.Record(Type.String({ pattern: TARGET_NAME }), TargetSchema, {
      minProperties: 1,
      additionalProperties: false,
    }),
    traffic: Type.Optional(TrafficSchema),
    probes: Type.Optional(Type.Array(ProbeSchema, { maxItems: 100 })),
    abort: Type.Optional(Type.Array(AbortSchema, { maxItems: 100 })),
    experiments: Type.Array(FileExperimentSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export type ReadBackSpec = Static<typeof ReadBackSchema>;
export type RequestSpec = Static<typeof RequestSchema>;
export type TrafficSpec = Static<typeof TrafficSchema>;
export type HttpProbeSpec = Static<typeof HttpProbeSchema>;
export type PromqlProbeSpec = Static<typeof PromqlProbeSchema>;
export type ProbeSpec = Static<typeof ProbeSchema>;
export type ProbePhase = (typeof PROBE_PHASES)[number];
export type AbortSpec = Static<typeof AbortSchema>;
export type SuiteV2 = Static<typeof SuiteV2Schema>;
export type { TSchema };

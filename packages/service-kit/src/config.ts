// Configuration comes only from environment variables, validated once at startup.
import { type Static, type TObject, type TProperties, Type } from 'typebox';
import { Clean, Convert, Default, Errors } from 'typebox/value';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Settings every service shares; a service adds its own with `serviceConfigSchema`. */
export const baseConfigProperties = {
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  /** Requests slower than this are logged (warn) whatever their status; 0 turns it off. */
  LOG_SLOW_REQUEST_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000 }),
  /** Share of the other successful and client-error requests logged (info); server errors always are. */
  LOG_REQUEST_SAMPLE_RATE: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  /**
   * PostgreSQL connections per process. Not the database's cores (2 x cores + 1, 5 on two cores,
   * counts statements running, not connections): an order's statements are each a transaction, so a
   * connection is held for one round trip, which on a busy machine is mostly both processes waiting
   * to be scheduled, not PostgreSQL working. Measured with the three services on a 2-core machine
   * at load 8-10 (3 interleaved rounds, c8 and c64): 4 cost 40-50% of the orders/s of 10, 20 gained
   * nothing over 10. Three services x 2 replicas x 10 stays under PostgreSQL's 100 connections.
   */
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  /** How long start-up waits for a PostgreSQL that does not answer yet (starting, restarting). */
  DB_STARTUP_WAIT_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 60_000 }),
  /** Time between readiness turning 503 and the server closing, so load balancers stop sending traffic. */
  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 0 }),
  /** Hard limit for the whole graceful shutdown; past it the process exits non-zero. */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  /** Shed load (503) when the event loop lags more than this; 0 turns the check off. */
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 }),
  /** Shed load when the V8 heap in use exceeds this share of its limit; 0 turns the check off. */
  LOAD_SHED_MAX_HEAP_RATIO: Type.Number({ minimum: 0, maximum: 1, default: 0.9 }),
  LOAD_SHED_RETRY_AFTER_S: Type.Integer({ minimum: 1, maximum: 3600, default: 1 }),
  /** Business requests handled at once; more wait in a queue (admission control). */
  ADMISSION_MAX_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 100_000, default: 32 }),
  /** Requests that may wait for a slot; past it they are shed at once. */
  ADMISSION_MAX_QUEUE: Type.Integer({ minimum: 0, maximum: 100_000, default: 128 }),
  /**
   * Longest a request waits for a slot before it is shed, which bounds an accepted request's latency.
   * Half the order latency SLO (p95 under 1 s, grafana/alerts), the other half left for the work:
   * a request shed sooner would have met the SLO (100 ms shed 10-33% of 64 steady clients, whose
   * queue of 32 waits 32 / rate), one admitted later would miss it anyway. Well inside callers'
   * per-attempt timeout (DOWNSTREAM_TIMEOUT_MS, 3 s): a queued inventory call is answered or shed
   * before order-service gives up on it. While requests are refused outright (a flood), the wait is
   * at most 100 ms (load-shedding.ts).
   */
  ADMISSION_MAX_QUEUE_WAIT_MS: Type.Integer({ minimum: 1, maximum: 60_000, default: 500 }),
  /** A client must finish sending its headers within this, or its connection is closed (slowloris). */
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  /** A client must finish sending its whole request within this. */
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
  /** Idle keep-alive connections close after this; above common load-balancer idle timeouts (60 s). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 72_000 }),
  /**
   * The probes' own listener (/healthz, /readyz, /metrics), which load shedding and connection
   * limits never touch; unset: PORT + 1000 (0 with PORT 0: any free port).
   */
  PROBE_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
  /** Connections one process holds at most; more are closed on arrival. Keep it under the file limit. */
  MAX_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 4096 }),
  /** Names this instance in the X-Served-By header (the pod name in Kubernetes); unset: host:port. */
  POD_NAME: Type.Optional(Type.String({ pattern: '^[\\x21-\\x7E]{1,253}$' })),
};

export function serviceConfigSchema<P extends TProperties>(defaultPort: number, properties: P) {
  // additionalProperties: false makes the result hold only known settings, not the whole environment.
  return Type.Object(
    {
      PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: defaultPort }),
      ...baseConfigProperties,
      ...properties,
    },
    { additionalProperties: false },
  );
}

export type BaseConfig = Static<ReturnType<typeof serviceConfigSchema<Record<never, never>>>>;

/** Validates `env` against `schema`, applying defaults; throws ConfigError naming every bad variable. */
export function loadConfig<S extends TObject>(schema: S, env: NodeJS.ProcessEnv = process.env): Static<S> {
  // Empty strings count as unset, so `FOO=` in a manifest falls back to the default.
  const data = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  // TypeBox's own value functions, which read the schema as it is: defaults filled in, text turned
  // into numbers, unknown variables dropped. Nothing is compiled: Ajv's code generation for these
  // ~35 settings took an eighth of a replica's start-up (docs/performance.md).
  const config = Clean(schema, Convert(schema, Default(schema, data))) as Record<string, unknown>;
  // Checked one variable at a time: TypeBox stops reporting an object's errors after a property
  // that fails a union, and each variable deserves its own phrase.
  const problems = Object.entries(schema.properties).flatMap(([name, property]) => {
    if (config[name] === undefined) return schema.required?.includes(name) ? [`${name} is required`] : [];
    const errors = Errors(property, config[name]);
    if (errors.length === 0) return [];
    // A choice of values (a union of literals) names the values.
    const allowed = errors.filter((e) => e.keyword === 'const').map((e) => e.params.allowedValue);
    return [`${name} ${allowed.length ? `must be one of ${allowed.join(', ')}` : errors[0]?.message}`];
  });
  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return config as Static<S>;
}

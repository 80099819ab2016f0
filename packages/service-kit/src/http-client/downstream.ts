// One resilient client per downstream service: an undici keep-alive pool behind cockatiel's
// retry (idempotent calls only), circuit breaker and per-attempt timeout.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { errors, Pool } from 'undici';
import { DownstreamRequestError, DownstreamUnavailableError } from './errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

export interface DownstreamOptions {
  name: string;
  baseUrl: string;
  /** Per attempt: a hung downstream costs at most this much per try. */
  timeoutMs: number;
  /** Extra attempts for idempotent requests. */
  retries: number;
  retryBaseDelayMs: number;
  /** Consecutive failures that open the breaker. */
  breakerThreshold: number;
  /** How long the breaker stays open before letting one trial call through. */
  breakerHalfOpenAfterMs: number;
  /** Keep-alive connections in the pool. */
  connections?: number;
  logger?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export interface DownstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Safe to send twice. Defaults to true for GET, PUT and DELETE, false for POST. */
  idempotent?: boolean;
}

export interface DownstreamResponse<T = unknown> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

const STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** A 5xx, or 429/503 asking us to back off: the downstream is unwell or overloaded. */
class ServerError extends Error {
  constructor(readonly status: number) {
    super(`answered ${status}`);
  }
}

class AttemptTimeout extends Error {}

/**
 * Only failures that say the downstream is unwell (no connection, a timeout, a 5xx or 429) count
 * towards its breaker and are retried. A request of ours it cannot take is our bug: counting it
 * would let one bad caller open the breaker for everyone.
 */
const downstreamUnwell = handleWhen((error) => !(error instanceof DownstreamRequestError));

export class Downstream {
  readonly name: string;
  private readonly pool: Pool;
  private readonly breaker;
  private readonly once;
  private readonly withRetries;
  private openedAt = 0;
  private readonly listeners = new Set<(state: BreakerState) => void>();

  constructor(private readonly opts: DownstreamOptions) {
    this.name = opts.name;
    this.pool = new Pool(opts.baseUrl, {
      connections: opts.connections ?? 32,
      keepAliveTimeout: 10_000,
      // undici's own timeouts default to 300 s; the policy's timeout is the one that should fire.
      connectTimeout: opts.timeoutMs,
      headersTimeout: opts.timeoutMs * 2,
      bodyTimeout: opts.timeoutMs * 2,
    });
    this.breaker = circuitBreaker(downstreamUnwell, {
      halfOpenAfter: opts.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(opts.breakerThreshold),
    });
    // Cooperative: the signal reaches undici, which abandons the socket; nothing is aborted after success.
    const attemptTimeout = timeout(opts.timeoutMs, {
      strategy: TimeoutStrategy.Cooperative,
      abortOnReturn: false,
    });
    this.once = wrap(this.breaker, attemptTimeout);
    this.withRetries = wrap(
      retry(
        handleWhen(
          (error) => !(error instanceof BrokenCircuitError || error instanceof DownstreamRequestError),
        ),
        {
          maxAttempts: opts.retries,
          // Capped so the whole retried call stays within a small multiple of the per-attempt budget.
          backoff: new ExponentialBackoff({ initialDelay: opts.retryBaseDelayMs, maxDelay: opts.timeoutMs }),
        },
      ),
      this.breaker,
      attemptTimeout,
    );

    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.breaker.onStateChange((circuit) => {
      const state = STATES[circuit];
      const log = { downstream: this.name, state };
      if (state === 'open') opts.logger?.warn(log, `circuit breaker for ${this.name} opened`);
      else opts.logger?.info(log, `circuit breaker for ${this.name} is ${state}`);
      // Listeners run inside the breaker's execute: one that throws must not turn into a failed call.
      for (const listener of this.listeners) {
        try {
          listener(state);
        } catch (error) {
          opts.logger?.warn({ downstream: this.name, err: error }, 'breaker state listener failed');
        }
      }
    });
  }

  get state(): BreakerState {
    return STATES[this.breaker.state];
  }

  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * 2xx-4xx (but 429) come back as responses; no answer, a timeout, a 5xx or 429 throws
   * DownstreamUnavailableError; a request undici refuses to send throws DownstreamRequestError.
   */
  async request<T = unknown>(req: DownstreamRequest): Promise<DownstreamResponse<T>> {
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const policy = idempotent && this.opts.retries > 0 ? this.withRetries : this.once;
    try {
      return await policy.execute(({ signal }) => this.attempt<T>(req, signal));
    } catch (error) {
      if (error instanceof DownstreamRequestError) throw error;
      throw this.unavailable(error);
    }
  }

  /** Closes the pool; safe to call more than once. */
  async close(): Promise<void> {
    if (this.pool.closed || this.pool.destroyed) return;
    await this.pool.close();
  }

  private async attempt<T>(req: DownstreamRequest, signal: AbortSignal): Promise<DownstreamResponse<T>> {
    try {
      const res = await this.pool.request({
        method: req.method,
        path: req.path,
        signal,
        headers: {
          accept: 'application/json',
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...req.headers,
        },
        body: req.body === undefined ? null : JSON.stringify(req.body),
      });
      if (res.statusCode >= 500 || res.statusCode === 429) {
        await res.body.dump();
        throw new ServerError(res.statusCode);
      }
      const text = await res.body.text();
      const json = /json/.test(String(res.headers['content-type'] ?? '')) && text !== '';
      return { status: res.statusCode, headers: res.headers, body: (json ? JSON.parse(text) : text) as T };
    } catch (error) {
      // Header values or a body undici will not put on the wire: nothing was sent.
      if (error instanceof errors.InvalidArgumentError) {
        throw new DownstreamRequestError(this.name, error.message, { cause: error });
      }
      if (signal.aborted && !(error instanceof ServerError))
        throw new AttemptTimeout('timed out', { cause: error });
      throw error;
    }
  }

  private unavailable(error: unknown): DownstreamUnavailableError {
    if (error instanceof BrokenCircuitError) {
      const remainingMs = this.opts.breakerHalfOpenAfterMs - (Date.now() - this.openedAt);
      const retryAfter = Math.max(1, Math.ceil(remainingMs / 1000));
      return new DownstreamUnavailableError(this.name, 'circuit-open', retryAfter, undefined, {
        cause: error,
      });
    }
    if (error instanceof ServerError) {
      const reason = error.status === 429 ? 'overloaded' : 'server-error';
      return new DownstreamUnavailableError(this.name, reason, 1, error.status, { cause: error });
    }
    const reason = error instanceof AttemptTimeout ? 'timeout' : 'connection';
    return new DownstreamUnavailableError(this.name, reason, 1, undefined, { cause: error });
  }
}

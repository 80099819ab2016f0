// Open-model load: requests leave on a fixed schedule whatever the service does, and latency is
// counted from when a request was due, not when it left, so a stalled service cannot hide its
// stall by slowing the sender (no coordinated omission). The schedule and every latency use the
// monotonic high-resolution clock (performance.now); request i is due at start + i/rps and leaves
// as soon as the event loop gets to it at or after that instant, never before.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

const PRODUCTS = ['PROD-001', 'PROD-002', 'PROD-003', 'PROD-004', 'PROD-005'];

export { MAX_RPS } from './limits.js';

export interface Sample {
  /** When the request was due (epoch ms, sub-millisecond). */
  dueAt: number;
  /** When its last attempt ended: answer read, refused, reset or timed out (epoch ms). */
  completedAt: number;
  /** completedAt - dueAt: what a client that wanted to send at dueAt waited, retries included. */
  latencyMs: number;
  /** How late the first attempt left after dueAt (the generator's own schedule lag). */
  lagMs: number;
  /** HTTP status of the last attempt, or 0 when no answer came (refused, reset, timeout, shed here). */
  status: number;
  /** Attempts made: 1 without retries, 0 when it never left (maxInFlight reached). */
  attempts: number;
  /** Sent as Idempotency-Key on every attempt of this order. */
  idempotencyKey: string;
  /** The replica that answered the last attempt (its X-Served-By header), when it said. */
  servedBy?: string;
  orderId?: string;
  quantity: number;
  productId: string;
}

/** What a retrying client does: retries with the same Idempotency-Key, with exponential back-off. */
export interface RetryPolicy {
  /** Retries after the first attempt (0: none). */
  retries: number;
  /** Wait before the first retry; doubled for each next one. */
  backoffMs: number;
}

/** "retrying up to twice (back-off 50 ms, doubling) with the same Idempotency-Key", for logs and reports. */
export function describeRetry({ retries, backoffMs }: RetryPolicy): string {
  const times = retries === 1 ? 'once' : retries === 2 ? 'twice' : `${retries} times`;
  return `retrying up to ${times} (back-off ${backoffMs} ms, doubling) with the same Idempotency-Key`;
}

export interface LoadOptions {
  url: string;
  rps: number;
  /** How long one attempt may wait for its answer. */
  timeoutMs?: number;
  /** Bounds memory and sockets if the target hangs: beyond it a due request fails at once. */
  maxInFlight?: number;
  /** Retry no answer, 429 and 5xx; by default a request is tried once. */
  retry?: RetryPolicy;
}

/** A retrying client gives up on what cannot get better by retrying: any answer below 500 but 429. */
const retryable = (status: number) => status === 0 || status === 429 || status >= 500;

export class LoadGenerator {
  readonly samples: Sample[] = [];
  private readonly pool: Pool;
  private readonly periodMs: number;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running = false;
  private closed: Promise<void> | undefined;
  /** performance.now() at start, and the epoch time it stands for. */
  private origin = 0;
  private epochOrigin = 0;
  private sent = 0;

  constructor(private readonly opts: LoadOptions) {
    // MAX_RPS is the CLI's to enforce: the benchmark goes beyond it to find it.
    if (!(opts.rps > 0 && Number.isFinite(opts.rps)))
      throw new RangeError(`rps must be above 0 (got ${opts.rps})`);
    this.periodMs = 1000 / opts.rps;
    // Keep-alive connections, opened as the load needs them and never more than the requests that
    // may be in flight; undici's request() costs a fraction of fetch() per request (measured).
    // A Service balances connections, not requests: on a few long-lived ones one replica took
    // ~100% of the traffic. Each connection closes after a tenth of a second's worth of the rate,
    // so that about ten new ones a second spread the load as a population of clients would.
    this.pool = new Pool(opts.url, {
      connections: opts.maxInFlight ?? 2000,
      pipelining: 1,
      maxRequestsPerClient: Math.ceil(opts.rps / 10),
    });
  }

  start(): void {
    this.running = true;
    this.origin = performance.now();
    this.epochOrigin = Date.now();
    this.tick();
  }

  /** Stops sending and waits for the orders in flight (each bounded by its timeouts and retries). */
  async stop(): Promise<Sample[]> {
    this.running = false;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    await Promise.all(this.inFlight);
    this.closed ??= this.pool.close();
    await this.closed;
    return this.samples;
  }

  private tick = (): void => {
    if (!this.running) return;
    const now = performance.now();
    // Everything due by now leaves now: request i is due at origin + i * period.
    const due = Math.floor((now - this.origin) / this.periodMs) + 1;
    while (this.sent < due) this.launch(this.origin + this.sent++ * this.periodMs, now);
    const wait = this.origin + this.sent * this.periodMs - performance.now();
    // Node's timers have 1 ms granularity and fire late, never early: sleep the whole milliseconds,
    // then, at low rates where it costs little, yield to the event loop until the due instant so a
    // request is not held up to a millisecond late. At high rates a tick sends what is due since.
    if (wait >= 1) this.timer = setTimeout(this.tick, Math.floor(wait));
    else if (this.periodMs >= 5) this.timer = setImmediate(this.tick);
    else this.timer = setTimeout(this.tick, 1);
  };

  private launch(due: number, now: number): void {
    const index = this.sent - 1;
    const sample: Sample = {
      dueAt: this.epochOrigin + (due - this.origin),
      completedAt: 0,
      latencyMs: 0,
      lagMs: now - due,
      status: 0,
      attempts: 0,
      idempotencyKey: randomUUID(),
      quantity: 1,
      productId: PRODUCTS[index % PRODUCTS.length] ?? 'PROD-001',
    };
    if (this.inFlight.size >= (this.opts.maxInFlight ?? 2000)) {
      this.complete(sample, due);
      return;
    }
    const request = this.order(sample, due).finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private async order(sample: Sample, due: number): Promise<void> {
    const body = JSON.stringify({
      product_id: sample.productId,
      quantity: sample.quantity,
      email: 'chaos@example.com',
    });
    const retries = this.opts.retry?.retries ?? 0;
    for (;;) {
      sample.attempts++;
      await this.attempt(sample, body);
      // An order in flight at stop() still gets its retries: stopping ends new orders, not old ones.
      if (!retryable(sample.status) || sample.attempts > retries) break;
      const backoff = (this.opts.retry?.backoffMs ?? 0) * 2 ** (sample.attempts - 1);
      await sleep(backoff);
    }
    this.complete(sample, due);
  }

  private async attempt(sample: Sample, body: string): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    try {
      const res = await this.pool.request({
        path: '/orders',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': sample.idempotencyKey },
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      sample.status = res.statusCode;
      const servedBy = res.headers['x-served-by'];
      if (typeof servedBy === 'string') sample.servedBy = servedBy;
      if (res.statusCode === 201) {
        const answer = (await res.body.json().catch(() => ({}))) as { id?: unknown };
        if (typeof answer.id === 'string') sample.orderId = answer.id;
      } else {
        await res.body.dump();
      }
    } catch {
      sample.status = 0;
    }
  }

  private complete(sample: Sample, due: number): void {
    const now = performance.now();
    sample.completedAt = this.epochOrigin + (now - this.origin);
    sample.latencyMs = now - due;
    this.samples.push(sample);
  }
}

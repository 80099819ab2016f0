// Sheds load with a fast 503 + Retry-After so that accepted requests keep a bounded latency:
// - admission control: at most `maxInFlight` business requests run at once, at most `maxQueue`
//   wait for a slot, none waits longer than `maxQueueWaitMs` (so an accepted request's latency is
//   bounded by the wait plus its own work, instead of growing with the backlog);
// - pressure: event-loop lag or a nearly full heap shed everything new until they recover.
// Registered only around business routes (and, before the framework, in connection-gate.ts):
// /healthz, /readyz and /metrics must keep answering under pressure, or the kubelet restarts a busy
// pod and Prometheus loses sight of it.
// The pressure sampler is ours, not @fastify/under-pressure's: that one calls process.memoryUsage(),
// which reads /proc and throws EMFILE when the process is out of file descriptors, in a timer, which
// made the process exit. v8's heap statistics and the event-loop histogram open no files.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendProblem } from './problem.js';

export interface LoadSheddingOptions {
  maxEventLoopDelayMs: number;
  maxHeapRatio: number;
  retryAfterSeconds: number;
  maxInFlight: number;
  maxQueue: number;
  maxQueueWaitMs: number;
}

type ShedReason = 'eventLoopDelay' | 'heapUsedBytes' | 'queueFull' | 'queueTimeout';

const SAMPLE_INTERVAL_MS = 500;
/** How long after a refusal the process still counts as saturated (LoadState.saturated). */
const SHED_MEMORY_MS = 1000;
/**
 * The queue wait while requests are refused outright (pressure, a full queue) or were within
 * SHED_MEMORY_MS: then the queue stands because more arrive than the process can take, and waiting
 * maxQueueWaitMs would only add it to every admitted request's latency (a flood's witness: p99 from
 * about 2 s to under 0.5 s, scripts/bench/flood.mjs). Steady clients that merely outnumber the slots
 * are never refused, and keep the configured wait.
 */
const SATURATED_QUEUE_WAIT_MS = 100;

/** Counts requests in flight and hands freed slots to waiters in arrival order. */
class Admission {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly opts: Pick<LoadSheddingOptions, 'maxInFlight' | 'maxQueue'>) {}

  /** A slot now, a slot within the wait limit, or the reason there is none. */
  enter(waitMs: number): 'admitted' | 'queueFull' | Promise<'admitted' | 'queueTimeout'> {
    if (this.inFlight < this.opts.maxInFlight) {
      this.inFlight++;
      return 'admitted';
    }
    if (this.waiting.length >= this.opts.maxQueue) return 'queueFull';
    return new Promise((resolve) => {
      // Single-threaded: either the timer removes the waiter first, or leave() takes it and the
      // timer is cleared; a slot can never be granted to a waiter that already gave up.
      const admit = () => {
        clearTimeout(timer);
        resolve('admitted');
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(admit), 1);
        resolve('queueTimeout');
      }, waitMs);
      this.waiting.push(admit);
    });
  }

  leave(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter: inFlight stays the same.
    if (next) next();
    else this.inFlight--;
  }

  get queued(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.inFlight;
  }
}

/** Event-loop lag and heap use, sampled in the background; a failed sample keeps the last values. */
function pressureSampler(app: FastifyInstance, opts: LoadSheddingOptions) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const maxHeapBytes = getHeapStatistics().heap_size_limit * opts.maxHeapRatio;
  let current: { reason: ShedReason; value: number } | undefined;
  const timer = setInterval(() => {
    try {
      const lagMs = histogram.mean / 1e6 - 10;
      histogram.reset();
      const heapUsed = getHeapStatistics().used_heap_size;
      if (opts.maxEventLoopDelayMs > 0 && lagMs > opts.maxEventLoopDelayMs)
        current = { reason: 'eventLoopDelay', value: lagMs };
      else if (opts.maxHeapRatio > 0 && heapUsed > maxHeapBytes)
        current = { reason: 'heapUsedBytes', value: heapUsed };
      else current = undefined;
    } catch (error) {
      // Resource errors (EMFILE and the like) pass; the next sample tries again.
      app.log.warn({ err: error }, 'load sampling failed');
    }
  }, SAMPLE_INTERVAL_MS);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    histogram.disable();
  });
  return () => current;
}

/** What background work (the outbox) and the connection gate ask. */
export interface LoadState {
  /**
   * True under pressure or when a request was shed within the last second: past what the process
   * can take. A queue alone is not: steady clients outnumbering the slots keep one, every request
   * admitted within its bound, and work that yielded to it (the outbox) would fall behind for good.
   */
  saturated(): boolean;
  /**
   * Why a request is refused before the framework sees it (connection-gate.ts),
   * counted as shed, or undefined: past its budget (pressure, or a full admission queue) the
   * process would only run its hooks and routes to shed it.
   */
  connectionRefusal(): string | undefined;
}

export async function registerLoadShedding(
  app: FastifyInstance,
  opts: LoadSheddingOptions,
): Promise<LoadState> {
  const { Counter, Gauge } = app.metrics.client;
  // The dashboard's "load shed" panel reads this name: keep it.
  const shed = new Counter({
    name: 'http_load_shed_total',
    help: 'Requests refused with 503 to protect latency: pressure (event loop, heap) or a full or slow admission queue',
    labelNames: ['reason'],
  });
  // Present from the start (at 0), so dashboards and alerts see a series.
  for (const reason of ['queueFull', 'queueTimeout'] as const) shed.inc({ reason }, 0);
  if (opts.maxEventLoopDelayMs > 0) shed.inc({ reason: 'eventLoopDelay' }, 0);
  if (opts.maxHeapRatio > 0) shed.inc({ reason: 'heapUsedBytes' }, 0);

  const admission = new Admission(opts);
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'Business requests being handled (admitted)',
    collect() {
      this.set(admission.running);
    },
  });
  new Gauge({
    name: 'http_requests_queued',
    help: 'Business requests waiting for admission',
    collect() {
      this.set(admission.queued);
    },
  });
  const pressure = pressureSampler(app, opts);

  let lastShedAt = Number.NEGATIVE_INFINITY;
  let lastRefusedAt = Number.NEGATIVE_INFINITY;
  const count = (reason: ShedReason) => {
    shed.inc({ reason });
    lastShedAt = performance.now();
    // A queue timeout alone does not shorten the wait: that would shed more by timing out more.
    if (reason !== 'queueTimeout') lastRefusedAt = lastShedAt;
  };
  const refuse = (reply: FastifyReply, reason: ShedReason, detail: string) => {
    count(reason);
    return sendProblem(reply, {
      status: 503,
      title: 'Service Unavailable',
      type: 'overloaded',
      detail,
      headers: { 'retry-after': String(opts.retryAfterSeconds) },
    });
  };

  app.addHook('onRequest', async (_request, reply) => {
    const under = pressure();
    if (under) {
      return refuse(reply, under.reason, `shedding load: ${under.reason} at ${Math.round(under.value)}`);
    }
    // Tracks the exchange, so the slot is given back however it ends (sent, failed, client gone).
    const exchange: { state: 'waiting' | 'admitted' | 'closed' } = { state: 'waiting' };
    reply.raw.once('close', () => {
      if (exchange.state === 'admitted') admission.leave();
      exchange.state = 'closed';
    });
    const waitMs =
      performance.now() - lastRefusedAt < SHED_MEMORY_MS
        ? Math.min(SATURATED_QUEUE_WAIT_MS, opts.maxQueueWaitMs)
        : opts.maxQueueWaitMs;
    const outcome = await admission.enter(waitMs);
    if (outcome === 'queueFull') return refuse(reply, outcome, 'too many requests waiting; retry later');
    if (outcome === 'queueTimeout') {
      return refuse(reply, outcome, `no capacity within ${waitMs} ms; retry later`);
    }
    if (exchange.state === 'closed') admission.leave();
    else exchange.state = 'admitted';
  });
  return {
    saturated: () => pressure() !== undefined || performance.now() - lastShedAt < SHED_MEMORY_MS,
    connectionRefusal: () => {
      const under = pressure();
      const reason = under?.reason ?? (admission.queued >= opts.maxQueue ? 'queueFull' : undefined);
      if (reason) count(reason);
      return reason;
    },
  };
}

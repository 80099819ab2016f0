// Delivers what orders owe other services (notifications, stock releases) until they accept it,
// and fails orders left pending by an inventory that never answered.
// Throughput: a pass's notifications go to notification-service in one batch request (one HTTP
// exchange and one commit there instead of one of each per order), its stock releases
// concurrently (each message is its own order's, so per-order order holds), and a full pass is
// followed at once by the next, so a backlog drains at the downstream's pace instead of one pass
// per poll interval (unless the process is shedding requests: then it keeps to one pass per
// interval, and catches up after). Delivery stays at-least-once: a message is marked delivered only after the
// downstream accepted it.
import { type Downstream, DownstreamUnavailableError, type LoadState } from '@chaos-platform/service-kit';
import type { FastifyBaseLogger } from 'fastify';
import type { OrderMetrics } from './metrics.js';
import type { OrdersStore, OutboxMessage } from './orders-store.js';

export interface OutboxOptions {
  pollIntervalMs: number;
  batchSize: number;
  maxBackoffMs: number;
  pendingTimeoutMs: number;
}

export interface OutboxDeps {
  orders: OrdersStore;
  inventory: Downstream;
  notification: Downstream;
  metrics: OrderMetrics;
  log: FastifyBaseLogger;
  /** The process's request load: while it is saturated, the outbox goes at its poll pace. */
  load: LoadState;
}

/** Longer than any delivery attempt with its retries, so a lease only lapses when its holder died. */
const LEASE_MS = 60_000;

/** notification-service's POST /notifications/batch takes at most this many. */
const NOTIFY_BATCH_MAX = 100;

/** What notification-service's batch answers for each notification. */
interface BatchResult {
  order_id: string;
  status: number;
}

/** What became of a delivery: accepted, refused for good with a status, or worth a retry. */
type Delivery = 'delivered' | { refused: number } | { retryIn: string };

export class OutboxWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: OutboxDeps,
    private readonly opts: OutboxOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops polling and waits for the batch in hand, so the database can close after it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: fail stale pending orders, then deliver what is due. Returns messages delivered. */
  async runOnce(): Promise<number> {
    return (await this.pass()).delivered;
  }

  private async pass(): Promise<{ claimed: number; delivered: number }> {
    const { orders, log } = this.deps;
    for (const id of await orders.stalePending(this.opts.pendingTimeoutMs, this.opts.batchSize)) {
      if (await orders.fail(id, 'inventory-unavailable'))
        log.warn({ order_id: id }, 'pending order timed out');
    }
    const due = await orders.claimDue(this.opts.batchSize, LEASE_MS);
    const notify = due.filter((message) => message.kind === 'notify');
    const chunks = Array.from({ length: Math.ceil(notify.length / NOTIFY_BATCH_MAX) }, (_, i) =>
      notify.slice(i * NOTIFY_BATCH_MAX, (i + 1) * NOTIFY_BATCH_MAX),
    );
    const results = await Promise.all([
      ...chunks.map((chunk) => this.notifyAll(chunk)),
      ...due.filter((message) => message.kind !== 'notify').map((message) => this.deliver(message)),
    ]);
    // Marked together once the batch is through: one commit instead of one per message. A crash
    // before it leaves them leased, so they go again once the lease lapses: at least once.
    const delivered = results.flat();
    if (delivered.length) await orders.deliveredAll(delivered);
    return { claimed: due.length, delivered: delivered.length };
  }

  /**
   * Runs a pass after `delayMs`: at once after a full batch (more is probably due), after the poll
   * interval otherwise, or while requests are shed: the outbox shares the process and the machine
   * with them, so under overload it yields and catches up afterwards. A failed pass (the database
   * away, EMFILE...) is logged and the poller goes on.
   */
  private schedule(delayMs = this.opts.pollIntervalMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .then(({ claimed }) =>
          claimed >= this.opts.batchSize && !this.deps.load.saturated() ? 0 : this.opts.pollIntervalMs,
        )
        .catch((error: unknown) => {
          this.deps.log.error({ err: error }, 'outbox pass failed');
          return this.opts.pollIntervalMs;
        })
        .then((next) => this.schedule(next));
    }, delayMs);
  }

  /**
   * Delivers notifications in one request to notification-service's batch route, which handles
   * each as its own POST would (idempotent per order). A batch it refuses as a whole (a 4xx: an
   * older notification-service without the route during a rollout, or one message its schema
   * refuses) goes message by message, so one bad message never holds the others back.
   */
  private async notifyAll(messages: readonly OutboxMessage[]): Promise<OutboxMessage[]> {
    let status: number;
    let results: BatchResult[] = [];
    try {
      const reply = await this.deps.notification.request<{ results: BatchResult[] }>({
        method: 'POST',
        path: '/notifications/batch',
        body: { notifications: messages.map((message) => JSON.parse(message.payload)) },
        idempotent: true,
      });
      status = reply.status;
      // An answer without results (not notification-service's) leaves every message to a retry.
      if (status < 300 && Array.isArray(reply.body?.results)) results = reply.body.results;
    } catch (error) {
      const settled = await Promise.all(messages.map((message) => this.settle(message, retry(error))));
      return messages.filter((_, i) => settled[i]);
    }
    if (status >= 400) {
      this.deps.log.warn(
        { status, messages: messages.length },
        'notification batch refused; sending one by one',
      );
      return (await Promise.all(messages.map((message) => this.deliver(message)))).flat();
    }
    const statuses = new Map(results.map((result) => [result.order_id, result.status]));
    const settled = await Promise.all(
      messages.map((message) => {
        const answer = statuses.get(message.order_id);
        if (answer === undefined) return this.settle(message, { retryIn: 'missing from the batch answer' });
        return this.settle(message, outcomeOf(message, answer));
      }),
    );
    return messages.filter((_, i) => settled[i]);
  }

  /** Delivers one message; the message when delivered, else nothing. */
  private async deliver(message: OutboxMessage): Promise<OutboxMessage[]> {
    let outcome: Delivery;
    try {
      outcome = outcomeOf(message, await this.send(message));
    } catch (error) {
      outcome = retry(error);
    }
    return (await this.settle(message, outcome)) ? [message] : [];
  }

  /**
   * Records what a delivery came to, except a delivery (marked with the pass's others); true when
   * delivered.
   */
  private async settle(message: OutboxMessage, outcome: Delivery): Promise<boolean> {
    const { orders, metrics, log } = this.deps;
    if (outcome === 'delivered') {
      metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'delivered' });
      return true;
    }
    if ('refused' in outcome) {
      // Refused for good (a bug, not an outage): retrying would never succeed.
      const status = outcome.refused;
      log.error({ order_id: message.order_id, kind: message.kind, status }, 'outbox message refused');
      await orders.refused(message, `refused with ${status}`);
      metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'refused' });
      return false;
    }
    const delay = Math.min(this.opts.maxBackoffMs, 250 * 2 ** Math.min(message.attempts, 16));
    await orders.retryLater(message, delay, outcome.retryIn);
    metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'retry' });
    log.debug(
      { order_id: message.order_id, kind: message.kind, reason: outcome.retryIn, delay },
      'outbox delivery deferred',
    );
    return false;
  }

  private async send(message: OutboxMessage): Promise<number> {
    if (message.kind === 'notify') {
      const reply = await this.deps.notification.request({
        method: 'POST',
        path: '/notifications',
        body: JSON.parse(message.payload),
        idempotent: true,
      });
      return reply.status;
    }
    const reply = await this.deps.inventory.request({
      method: 'DELETE',
      path: `/reservations/${encodeURIComponent(message.order_id)}`,
    });
    return reply.status;
  }
}

/** What a downstream's answer means for a message: a 5xx is worth a retry, another 4xx is final. */
function outcomeOf(message: OutboxMessage, status: number): Delivery {
  if (status < 400 || (message.kind === 'release' && status === 404)) return 'delivered';
  if (status >= 500 || status === 429) return { retryIn: `answered ${status}` };
  return { refused: status };
}

const retry = (error: unknown): Delivery => ({
  retryIn: error instanceof DownstreamUnavailableError ? error.reason : (error as Error).message,
});

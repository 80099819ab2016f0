// Delivers what orders owe other services (notifications, stock releases) until they accept it,
// and fails orders left pending by an inventory that never answered.
// Throughput: a batch is delivered concurrently (each message is its own order's, so per-order
// order holds), and a full batch is followed at once by the next, so a backlog drains at the
// downstream's pace instead of one batch per poll interval (unless requests are queueing: then
// it keeps to one batch per interval, and catches up after). Delivery stays at-least-once: a
// message is marked delivered only after the downstream accepted it.
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
    const results = await Promise.all(due.map((message) => this.deliver(message)));
    // Marked together once the batch is through: one commit instead of one per message. A crash
    // before it leaves them leased, so they go again once the lease lapses: at least once.
    const delivered = due.filter((_, i) => results[i]);
    if (delivered.length) await orders.deliveredAll(delivered);
    return { claimed: due.length, delivered: delivered.length };
  }

  /**
   * Runs a pass after `delayMs`: at once after a full batch (more is probably due), after the poll
   * interval otherwise, or while requests queue: the outbox shares the process and the machine
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

  private async deliver(message: OutboxMessage): Promise<boolean> {
    const { orders, metrics, log } = this.deps;
    try {
      const status = await this.send(message);
      if (status >= 400 && !(message.kind === 'release' && status === 404)) {
        // Refused for good (a bug, not an outage): retrying would never succeed.
        log.error({ order_id: message.order_id, kind: message.kind, status }, 'outbox message refused');
        await orders.refused(message, `refused with ${status}`);
        metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'refused' });
        return false;
      }
      metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'delivered' });
      return true;
    } catch (error) {
      const reason = error instanceof DownstreamUnavailableError ? error.reason : (error as Error).message;
      const delay = Math.min(this.opts.maxBackoffMs, 250 * 2 ** Math.min(message.attempts, 16));
      await orders.retryLater(message, delay, reason);
      metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'retry' });
      log.debug(
        { order_id: message.order_id, kind: message.kind, reason, delay },
        'outbox delivery deferred',
      );
      return false;
    }
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

// Delivers what orders owe other services (notifications, stock releases) until they accept it,
// and fails orders left pending by an inventory that never answered.
import { type Downstream, DownstreamUnavailableError } from '@chaos-platform/service-kit';
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
    const { orders, log } = this.deps;
    for (const id of await orders.stalePending(this.opts.pendingTimeoutMs, this.opts.batchSize)) {
      if (await orders.fail(id, 'inventory-unavailable'))
        log.warn({ order_id: id }, 'pending order timed out');
    }
    const due = await orders.claimDue(this.opts.batchSize, LEASE_MS);
    const results = await Promise.all(due.map((message) => this.deliver(message)));
    return results.filter(Boolean).length;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.deps.log.error({ err: error }, 'outbox pass failed'))
        .finally(() => this.schedule());
    }, this.opts.pollIntervalMs);
  }

  private async deliver(message: OutboxMessage): Promise<boolean> {
    const { orders, metrics, log } = this.deps;
    try {
      const status = await this.send(message);
      if (status >= 400 && !(message.kind === 'release' && status === 404)) {
        // Refused for good (a bug, not an outage): retrying would never succeed.
        log.error({ order_id: message.order_id, kind: message.kind, status }, 'outbox message refused');
        await orders.delivered(message, `refused with ${status}`);
        metrics.outboxDeliveries.inc({ kind: message.kind, outcome: 'refused' });
        return false;
      }
      await orders.delivered(message);
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

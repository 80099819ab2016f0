// Orders and their outbox. Every status change and the message it owes another service are
// written atomically (the transactional outbox): one statement on PostgreSQL, one transaction on SQLite.
import { createHash, randomUUID } from 'node:crypto';
import type { Database, Dialect, Queryable } from '@chaos-platform/service-kit';

export type OrderStatus = 'pending' | 'confirmed' | 'rejected' | 'failed';

export interface OrderRequest {
  product_id: string;
  quantity: number;
  email: string;
}

export interface Order extends OrderRequest {
  id: string;
  status: OrderStatus;
  failure_reason: string | null;
  idempotency_key: string | null;
  request_hash: string;
  created_at: string;
}

export type OutboxKind = 'notify' | 'release';

export interface OutboxMessage {
  order_id: string;
  kind: OutboxKind;
  payload: string;
  attempts: number;
}

type DbRow<T> = T & Record<string, unknown>;

const ORDER_COLUMNS =
  'id, idempotency_key, request_hash, product_id, quantity, email, status, failure_reason, created_at';

// A release asked for again is re-armed: releasing is idempotent, a missed one leaks stock.
const ON_ENQUEUE_CONFLICT = `ON CONFLICT (order_id, kind) DO UPDATE SET delivered_at = NULL,
  next_attempt_at_ms = excluded.next_attempt_at_ms WHERE outbox.kind = 'release'`;

// Delivered messages of one kind, their order ids as one parameter: an array on PostgreSQL, a
// JSON array on SQLite (which has no arrays). One SQL text whatever the batch's size, so prepared once.
const MARK_DELIVERED: Record<Dialect, string> = {
  postgres:
    'UPDATE outbox SET delivered_at = $1, locked_until_ms = NULL, last_error = NULL WHERE kind = $2 AND order_id = ANY($3::text[])',
  sqlite:
    'UPDATE outbox SET delivered_at = $1, locked_until_ms = NULL, last_error = NULL WHERE kind = $2 AND order_id IN (SELECT value FROM json_each($3))',
};

/** Identifies a request body, so an Idempotency-Key reused for a different order is caught. */
export const requestHash = ({ product_id, quantity, email }: OrderRequest): string =>
  createHash('sha256')
    .update(JSON.stringify([product_id, quantity, email]))
    .digest('hex');

export class OrdersStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  async byId(id: string): Promise<Order | undefined> {
    const [row] = await this.db.query<DbRow<Order>>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [
      id,
    ]);
    return row;
  }

  async byIdempotencyKey(key: string): Promise<Order | undefined> {
    const [row] = await this.db.query<DbRow<Order>>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE idempotency_key = $1`,
      [key],
    );
    return row;
  }

  /** Stores a new pending order; with a key already taken, returns the order that holds it instead. */
  async createPending(
    request: OrderRequest,
    idempotencyKey: string | undefined,
  ): Promise<{ order: Order; created: boolean }> {
    const id = randomUUID();
    const inserted = await this.db.query<DbRow<Order>>(
      `INSERT INTO orders (id, idempotency_key, request_hash, product_id, quantity, email, status, created_at, updated_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING ${ORDER_COLUMNS}`,
      [
        id,
        idempotencyKey ?? null,
        requestHash(request),
        request.product_id,
        request.quantity,
        request.email,
        new Date(this.now()).toISOString(),
        this.now(),
      ],
    );
    if (inserted[0]) return { order: inserted[0], created: true };
    const holder = idempotencyKey === undefined ? undefined : await this.byIdempotencyKey(idempotencyKey);
    if (!holder) throw new Error('order insert conflicted but no order holds the idempotency key');
    return { order: holder, created: false };
  }

  /** Marks a pending attempt as still alive, so the pending timeout counts from the latest try. */
  async touch(id: string): Promise<void> {
    await this.db.execute("UPDATE orders SET updated_at_ms = $2 WHERE id = $1 AND status = 'pending'", [
      id,
      this.now(),
    ]);
  }

  /** pending -> confirmed, queueing the notification. Returns the order as it stands afterwards. */
  async confirm(order: Order): Promise<Order> {
    const payload = {
      order_id: order.id,
      email: order.email,
      product_id: order.product_id,
      quantity: order.quantity,
    };
    return (
      (await this.settleAndEnqueue(order.id, 'confirmed', null, 'notify', payload)) ??
      this.mustFind(this.db, order.id)
    );
  }

  /**
   * pending -> rejected (the inventory said no: nothing is reserved, nothing to release). One
   * statement, so no transaction: an order that was no longer pending is settled for good, and
   * reading it afterwards reads its final state.
   */
  async reject(id: string, reason: string): Promise<Order> {
    return (await this.settle(this.db, id, 'rejected', reason)) ?? this.mustFind(this.db, id);
  }

  /** pending -> failed, queueing the release of whatever the inventory may have reserved for it. */
  async fail(id: string, reason: string): Promise<boolean> {
    return (await this.settleAndEnqueue(id, 'failed', reason, 'release', { order_id: id })) !== undefined;
  }

  /** Queues a release for an order that ended failed while a reservation for it was being made. */
  async queueRelease(id: string): Promise<void> {
    await this.enqueue(this.db, id, 'release', { order_id: id });
  }

  async stalePending(olderThanMs: number, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      "SELECT id FROM orders WHERE status = 'pending' AND updated_at_ms < $1 ORDER BY updated_at_ms LIMIT $2",
      [this.now() - olderThanMs, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Leases up to `limit` due messages for `leaseMs`. The lease conditions are repeated outside the
   * sub-select so that, with several replicas, PostgreSQL's re-check lets only one of them win a row.
   */
  async claimDue(limit: number, leaseMs: number): Promise<OutboxMessage[]> {
    const now = this.now();
    return this.db.query<DbRow<OutboxMessage>>(
      `UPDATE outbox SET locked_until_ms = $1, attempts = attempts + 1
       WHERE (order_id, kind) IN (
         SELECT order_id, kind FROM outbox
         WHERE delivered_at IS NULL AND next_attempt_at_ms <= $2 AND (locked_until_ms IS NULL OR locked_until_ms <= $2)
         ORDER BY next_attempt_at_ms LIMIT $3)
       AND delivered_at IS NULL AND (locked_until_ms IS NULL OR locked_until_ms <= $2)
       RETURNING order_id, kind, payload, attempts`,
      [now + leaseMs, now, limit],
    );
  }

  /** Settles a message the downstream refused for good, saying why: retrying would never succeed. */
  async refused(message: OutboxMessage, note: string): Promise<void> {
    await this.db.execute(
      'UPDATE outbox SET delivered_at = $3, locked_until_ms = NULL, last_error = $4 WHERE order_id = $1 AND kind = $2',
      [message.order_id, message.kind, new Date(this.now()).toISOString(), note],
    );
  }

  /** Marks a batch's delivered messages at once: one statement (one commit) per kind. */
  async deliveredAll(messages: readonly OutboxMessage[]): Promise<void> {
    const deliveredAt = new Date(this.now()).toISOString();
    for (const kind of new Set(messages.map((message) => message.kind))) {
      const ids = messages.filter((message) => message.kind === kind).map((message) => message.order_id);
      await this.db.execute(MARK_DELIVERED[this.db.dialect], [
        deliveredAt,
        kind,
        this.db.dialect === 'postgres' ? ids : JSON.stringify(ids),
      ]);
    }
  }

  async retryLater(message: OutboxMessage, delayMs: number, error: string): Promise<void> {
    await this.db.execute(
      'UPDATE outbox SET next_attempt_at_ms = $3, locked_until_ms = NULL, last_error = $4 WHERE order_id = $1 AND kind = $2',
      [message.order_id, message.kind, this.now() + delayMs, error],
    );
  }

  async undelivered(): Promise<Array<{ kind: OutboxKind; count: number }>> {
    return this.db.query<{ kind: OutboxKind; count: number }>(
      'SELECT kind, COUNT(*) AS count FROM outbox WHERE delivered_at IS NULL GROUP BY kind',
    );
  }

  /** When the oldest undelivered outbox message was written (ISO time), or undefined when none is. */
  async oldestUndelivered(): Promise<string | undefined> {
    const [row] = await this.db.query<{ oldest: string | null }>(
      'SELECT MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL',
    );
    return row?.oldest ?? undefined;
  }

  async outboxEntry(orderId: string, kind: OutboxKind): Promise<Record<string, unknown> | undefined> {
    const [row] = await this.db.query(
      `SELECT order_id, kind, payload, attempts, next_attempt_at_ms, locked_until_ms, delivered_at, last_error, created_at
       FROM outbox WHERE order_id = $1 AND kind = $2`,
      [orderId, kind],
    );
    return row;
  }

  /** Moves a pending order to `status`; returns it as written, or undefined if it was not pending. */
  private async settle(
    tx: Queryable,
    id: string,
    status: OrderStatus,
    reason: string | null,
  ): Promise<Order | undefined> {
    const [row] = await tx.query<DbRow<Order>>(
      `UPDATE orders SET status = $2, failure_reason = $3, updated_at_ms = $4 WHERE id = $1 AND status = 'pending'
       RETURNING ${ORDER_COLUMNS}`,
      [id, status, reason, this.now()],
    );
    return row;
  }

  private async enqueue(tx: Queryable, orderId: string, kind: OutboxKind, payload: object): Promise<void> {
    await tx.execute(
      `INSERT INTO outbox (order_id, kind, payload, next_attempt_at_ms, created_at) VALUES ($1, $2, $3, $4, $5)
       ${ON_ENQUEUE_CONFLICT}`,
      [orderId, kind, JSON.stringify(payload), this.now(), new Date(this.now()).toISOString()],
    );
  }

  /**
   * Settles a pending order and queues the message it owes, together: on PostgreSQL one statement
   * (one round trip, one commit), on SQLite a transaction (in-process, no round trips to save).
   * Returns the order as written, or undefined (and queues nothing) if it was not pending.
   */
  private async settleAndEnqueue(
    id: string,
    status: OrderStatus,
    reason: string | null,
    kind: OutboxKind,
    payload: object,
  ): Promise<Order | undefined> {
    if (this.db.dialect === 'sqlite') {
      return this.db.transaction(async (tx) => {
        const settled = await this.settle(tx, id, status, reason);
        if (settled) await this.enqueue(tx, id, kind, payload);
        return settled;
      });
    }
    const now = this.now();
    const [row] = await this.db.query<DbRow<Order>>(
      `WITH settled AS (
         UPDATE orders SET status = $2, failure_reason = $3, updated_at_ms = $4 WHERE id = $1 AND status = 'pending'
         RETURNING ${ORDER_COLUMNS}),
       queued AS (
         INSERT INTO outbox (order_id, kind, payload, next_attempt_at_ms, created_at)
         SELECT id, $5, $6, $4, $7 FROM settled
         ${ON_ENQUEUE_CONFLICT})
       SELECT ${ORDER_COLUMNS} FROM settled`,
      [id, status, reason, now, kind, JSON.stringify(payload), new Date(now).toISOString()],
    );
    return row;
  }

  private async mustFind(tx: Queryable, id: string): Promise<Order> {
    const [row] = await tx.query<DbRow<Order>>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    if (!row) throw new Error(`order ${id} vanished inside its transaction`);
    return row;
  }
}

// Notifications, one per order. Each attempt to send is recorded, so a failed send is kept and retried.
import type { Database, Dialect } from '@chaos-platform/service-kit';

export interface NotificationRequest {
  order_id: string;
  email: string;
  product_id: string;
  quantity: number;
}

export interface Notification extends NotificationRequest {
  status: 'pending' | 'sent';
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

type Row = Notification & Record<string, unknown>;

const COLUMNS = 'order_id, email, product_id, quantity, status, attempts, last_error, created_at, sent_at';

/** One attempt to send a notification's e-mail: sent (`error` null) or failed with `error`. */
export interface Attempt {
  request: NotificationRequest;
  error: string | null;
}

/** An attempt's upsert: a sent notification stays sent, a different one is never overwritten. */
const UPSERT = `ON CONFLICT (order_id) DO UPDATE SET attempts = notifications.attempts + 1,
    status = CASE WHEN notifications.status = 'sent' THEN 'sent' ELSE excluded.status END,
    last_error = CASE WHEN notifications.status = 'sent' THEN NULL ELSE excluded.last_error END,
    sent_at = COALESCE(notifications.sent_at, excluded.sent_at)
  WHERE notifications.email = excluded.email AND notifications.product_id = excluded.product_id
    AND notifications.quantity = excluded.quantity
  RETURNING ${COLUMNS}`;

/** Many order ids read at once, from a JSON array (one SQL text whatever their number). */
const GET_MANY: Record<Dialect, string> = {
  postgres: `SELECT ${COLUMNS} FROM notifications WHERE order_id = ANY(SELECT jsonb_array_elements_text($1::jsonb))`,
  sqlite: `SELECT ${COLUMNS} FROM notifications WHERE order_id IN (SELECT value FROM json_each($1))`,
};

/** Many attempts recorded in one statement, from a JSON array of rows. */
const RECORD_MANY: Record<Dialect, string> = {
  postgres: `INSERT INTO notifications (${COLUMNS})
    SELECT order_id, email, product_id, quantity, status, 1, last_error, $2, sent_at
    FROM jsonb_to_recordset($1::jsonb)
      AS t(order_id text, email text, product_id text, quantity integer, status text, last_error text, sent_at text)
    ${UPSERT}`,
  // WHERE true: SQLite's documented way to tell an upsert's ON CONFLICT from a join's ON.
  sqlite: `INSERT INTO notifications (${COLUMNS})
    SELECT value ->> 'order_id', value ->> 'email', value ->> 'product_id', value ->> 'quantity',
      value ->> 'status', 1, value ->> 'last_error', $2, value ->> 'sent_at'
    FROM json_each($1) WHERE true
    ${UPSERT}`,
};

export class NotificationStore {
  constructor(private readonly db: Database) {}

  async get(orderId: string): Promise<Notification | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM notifications WHERE order_id = $1`, [
      orderId,
    ]);
    return row;
  }

  /** The notifications of `orderIds` that exist, in one read. */
  async getMany(orderIds: readonly string[]): Promise<Map<string, Notification>> {
    const rows = await this.db.query<Row>(GET_MANY[this.db.dialect], [JSON.stringify(orderIds)]);
    return new Map(rows.map((row) => [row.order_id, row]));
  }

  /**
   * Records attempts to send e-mails (of distinct orders): each `sent`, or failed with `error`
   * (kept, pending, for the caller's retry). One statement and one commit, written after the
   * attempts: the caller (order-service's outbox) holds each message until it is answered, so
   * nothing is lost before it. A sent notification stays sent whatever a concurrent attempt
   * reports. The map holds what each order now has; an order missing from it holds a different
   * notification, never overwritten.
   */
  async recordMany(attempts: readonly Attempt[]): Promise<Map<string, Notification>> {
    const now = new Date().toISOString();
    const rows = attempts.map(({ request, error }) => ({
      order_id: request.order_id,
      email: request.email,
      product_id: request.product_id,
      quantity: request.quantity,
      status: error === null ? 'sent' : 'pending',
      last_error: error,
      sent_at: error === null ? now : null,
    }));
    const written = await this.db.query<Row>(RECORD_MANY[this.db.dialect], [JSON.stringify(rows), now]);
    return new Map(written.map((row) => [row.order_id, row]));
  }
}

export const sameContent = (a: NotificationRequest, b: NotificationRequest) =>
  a.email === b.email && a.product_id === b.product_id && a.quantity === b.quantity;

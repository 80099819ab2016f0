// Notifications, one per order. Each attempt to send is recorded, so a failed send is kept and retried.
import type { Database } from '@chaos-platform/service-kit';

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

export class NotificationStore {
  constructor(private readonly db: Database) {}

  async get(orderId: string): Promise<Notification | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM notifications WHERE order_id = $1`, [
      orderId,
    ]);
    return row;
  }

  /**
   * Records an attempt to send `request`'s e-mail: `sent`, or failed with `error` (kept, pending,
   * for the caller's retry). One statement and one commit, written after the attempt: the caller
   * (order-service's outbox) holds the message until it is answered, so nothing is lost before
   * it. A sent notification stays sent whatever a concurrent attempt reports. Undefined when the
   * order holds a different notification: that one is never overwritten.
   */
  async record(request: NotificationRequest, error: string | null): Promise<Notification | undefined> {
    const sentAt = error === null ? new Date().toISOString() : null;
    const [row] = await this.db.query<Row>(
      `INSERT INTO notifications (order_id, email, product_id, quantity, status, attempts, last_error, created_at, sent_at)
       VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8)
       ON CONFLICT (order_id) DO UPDATE SET attempts = notifications.attempts + 1,
         status = CASE WHEN notifications.status = 'sent' THEN 'sent' ELSE excluded.status END,
         last_error = CASE WHEN notifications.status = 'sent' THEN NULL ELSE excluded.last_error END,
         sent_at = COALESCE(notifications.sent_at, excluded.sent_at)
       WHERE notifications.email = excluded.email AND notifications.product_id = excluded.product_id
         AND notifications.quantity = excluded.quantity
       RETURNING ${COLUMNS}`,
      [
        request.order_id,
        request.email,
        request.product_id,
        request.quantity,
        error === null ? 'sent' : 'pending',
        error,
        new Date().toISOString(),
        sentAt,
      ],
    );
    return row;
  }
}

export const sameContent = (a: NotificationRequest, b: NotificationRequest) =>
  a.email === b.email && a.product_id === b.product_id && a.quantity === b.quantity;

// Notifications, one per order. Stored before sending, so a failed send is kept and retried.
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

  /** Stores the notification unless the order has one; returns the stored row and whether it is new. */
  async accept(request: NotificationRequest): Promise<{ notification: Notification; created: boolean }> {
    const [inserted] = await this.db.query<Row>(
      `INSERT INTO notifications (order_id, email, product_id, quantity, status, created_at)
       VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (order_id) DO NOTHING RETURNING ${COLUMNS}`,
      [request.order_id, request.email, request.product_id, request.quantity, new Date().toISOString()],
    );
    if (inserted) return { notification: inserted, created: true };
    const existing = await this.get(request.order_id);
    if (!existing) throw new Error(`notification ${request.order_id} neither inserted nor found`);
    return { notification: existing, created: false };
  }

  async get(orderId: string): Promise<Notification | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM notifications WHERE order_id = $1`, [
      orderId,
    ]);
    return row;
  }

  async sent(orderId: string): Promise<Notification> {
    const [row] = await this.db.query<Row>(
      `UPDATE notifications SET status = 'sent', attempts = attempts + 1, last_error = NULL, sent_at = $2
       WHERE order_id = $1 RETURNING ${COLUMNS}`,
      [orderId, new Date().toISOString()],
    );
    return found(row, orderId);
  }

  async failed(orderId: string, error: string): Promise<Notification> {
    const [row] = await this.db.query<Row>(
      `UPDATE notifications SET attempts = attempts + 1, last_error = $2 WHERE order_id = $1 RETURNING ${COLUMNS}`,
      [orderId, error],
    );
    return found(row, orderId);
  }
}

function found(row: Notification | undefined, orderId: string): Notification {
  if (!row) throw new Error(`notification ${orderId} not found`);
  return row;
}

export const sameContent = (a: NotificationRequest, b: NotificationRequest) =>
  a.email === b.email && a.product_id === b.product_id && a.quantity === b.quantity;

// Stock and reservations. Every change is one transaction whose decrement is conditional
// (available >= quantity), so replicas racing for the last unit can never oversell.
import type { Database, Queryable } from '@chaos-platform/service-kit';
import { BatchedReserve } from './batched-reserve.js';
import { catalogue } from './migrations.js';

export interface Product {
  product_id: string;
  name: string;
  available: number;
  reserved: number;
}

export interface Reservation {
  order_id: string;
  product_id: string;
  quantity: number;
  status: 'reserved' | 'released';
  created_at: string;
  updated_at: string;
}

export type ReserveResult =
  | { outcome: 'reserved' | 'already-reserved'; reservation: Reservation }
  | { outcome: 'unknown-product' }
  | { outcome: 'out-of-stock'; available: number }
  | { outcome: 'mismatch'; reservation: Reservation };

export type ReleaseResult =
  | { outcome: 'released' | 'already-released'; reservation: Reservation }
  | { outcome: 'not-found' };

type Row = Reservation & Record<string, unknown>;

const RESERVATION_COLUMNS = 'order_id, product_id, quantity, status, created_at, updated_at';

class OutOfStock extends Error {
  constructor(readonly available: number) {
    super('out of stock');
  }
}

export class StockStore {
  /** PostgreSQL's one-statement path (batched-reserve.ts); SQLite serializes writers anyway. */
  private readonly batched: BatchedReserve | undefined;

  constructor(private readonly db: Database) {
    this.batched = db.dialect === 'postgres' ? new BatchedReserve(db) : undefined;
  }

  /** Creates the catalogue on a new database; never touches products that exist. */
  async seed(units: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      for (const { product_id, name } of catalogue) {
        await tx.execute(
          'INSERT INTO products (product_id, name, available, reserved) VALUES ($1, $2, $3, 0) ON CONFLICT (product_id) DO NOTHING',
          [product_id, name, units],
        );
      }
    });
  }

  async products(): Promise<Product[]> {
    return this.db.query<Product & Record<string, unknown>>(
      'SELECT product_id, name, available, reserved FROM products ORDER BY product_id',
    );
  }

  async product(productId: string): Promise<Product | undefined> {
    const [row] = await this.db.query<Product & Record<string, unknown>>(
      'SELECT product_id, name, available, reserved FROM products WHERE product_id = $1',
      [productId],
    );
    return row;
  }

  async reservation(orderId: string): Promise<Reservation | undefined> {
    return find(this.db, orderId);
  }

  /** Idempotent per order id: reserving an order twice reserves once. */
  async reserve(orderId: string, productId: string, quantity: number): Promise<ReserveResult> {
    if (this.batched) {
      // The common case (a new order, a known product in stock) in one statement and one commit,
      // shared with the other new reservations of the product asked for meanwhile.
      const reservation = await this.batched.reserve(orderId, productId, quantity);
      if (reservation) return { outcome: 'reserved', reservation };
    }
    return this.reserveInTransaction(orderId, productId, quantity);
  }

  private async reserveInTransaction(
    orderId: string,
    productId: string,
    quantity: number,
  ): Promise<ReserveResult> {
    try {
      return await this.db.transaction(async (tx) => {
        const now = new Date().toISOString();
        // Inserts only for a known product and a new order id; RETURNING tells which happened.
        const [inserted] = await tx.query<Row>(
          `INSERT INTO reservations (order_id, product_id, quantity, status, created_at, updated_at)
           SELECT $1, product_id, $3, 'reserved', $4, $4 FROM products WHERE product_id = $2
           ON CONFLICT (order_id) DO NOTHING RETURNING ${RESERVATION_COLUMNS}`,
          [orderId, productId, quantity, now],
        );
        if (inserted) {
          await take(tx, productId, quantity);
          return { outcome: 'reserved', reservation: inserted };
        }

        const existing = await find(tx, orderId);
        if (existing?.product_id !== productId && !(await productExists(tx, productId))) {
          return { outcome: 'unknown-product' };
        }
        if (!existing) throw new Error(`reservation ${orderId} neither inserted nor found`);
        if (existing.product_id !== productId || existing.quantity !== quantity) {
          return { outcome: 'mismatch', reservation: existing };
        }
        if (existing.status === 'reserved') return { outcome: 'already-reserved', reservation: existing };

        // Released earlier (the order failed) and asked for again: take the stock again. The status
        // condition lets only one of two concurrent requests take it.
        const [again] = await tx.query<Row>(
          `UPDATE reservations SET status = 'reserved', updated_at = $2 WHERE order_id = $1 AND status = 'released'
           RETURNING ${RESERVATION_COLUMNS}`,
          [orderId, now],
        );
        if (!again) return { outcome: 'already-reserved', reservation: await mustFind(tx, orderId) };
        await take(tx, productId, quantity);
        return { outcome: 'reserved', reservation: again };
      });
    } catch (error) {
      if (error instanceof OutOfStock) return { outcome: 'out-of-stock', available: error.available };
      throw error;
    }
  }

  /** Idempotent: releasing twice gives the stock back once. */
  async release(orderId: string): Promise<ReleaseResult> {
    return this.db.transaction(async (tx) => {
      const [released] = await tx.query<Row>(
        `UPDATE reservations SET status = 'released', updated_at = $2 WHERE order_id = $1 AND status = 'reserved'
         RETURNING ${RESERVATION_COLUMNS}`,
        [orderId, new Date().toISOString()],
      );
      if (!released) {
        const existing = await find(tx, orderId);
        return existing ? { outcome: 'already-released', reservation: existing } : { outcome: 'not-found' };
      }
      await tx.execute(
        'UPDATE products SET available = available + $1, reserved = reserved - $1 WHERE product_id = $2',
        [released.quantity, released.product_id],
      );
      return { outcome: 'released', reservation: released };
    });
  }
}

async function take(tx: Queryable, productId: string, quantity: number): Promise<void> {
  const taken = await tx.execute(
    'UPDATE products SET available = available - $1, reserved = reserved + $1 WHERE product_id = $2 AND available >= $1',
    [quantity, productId],
  );
  if (taken === 0) {
    const [row] = await tx.query<{ available: number }>(
      'SELECT available FROM products WHERE product_id = $1',
      [productId],
    );
    // Throwing rolls back the reservation row written in the same transaction.
    throw new OutOfStock(row?.available ?? 0);
  }
}

async function find(db: Queryable, orderId: string): Promise<Reservation | undefined> {
  const [row] = await db.query<Row>(`SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE order_id = $1`, [
    orderId,
  ]);
  return row;
}

async function mustFind(tx: Queryable, orderId: string): Promise<Reservation> {
  const row = await find(tx, orderId);
  if (!row) throw new Error(`reservation ${orderId} vanished inside its transaction`);
  return row;
}

async function productExists(tx: Queryable, productId: string): Promise<boolean> {
  const rows = await tx.query('SELECT product_id FROM products WHERE product_id = $1', [productId]);
  return rows.length > 0;
}

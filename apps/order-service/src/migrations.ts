import type { Migration } from '@chaos-platform/service-kit';

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'orders and outbox',
    up: `
      CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT UNIQUE,
        request_hash TEXT NOT NULL,
        product_id TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        email TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected', 'failed')),
        failure_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at_ms BIGINT NOT NULL
      );
      CREATE INDEX orders_pending ON orders (status, updated_at_ms);

      -- Messages to other services, written in the same transaction as the order change they
      -- announce and delivered later by the outbox worker: a downstream outage delays them, never loses them.
      CREATE TABLE outbox (
        order_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('notify', 'release')),
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms BIGINT NOT NULL,
        locked_until_ms BIGINT,
        delivered_at TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (order_id, kind)
      );
      CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at_ms);
    `,
  },
  {
    id: 2,
    name: 'partial pending and due indexes',
    // Only pending orders and undelivered messages are ever looked up by these (the pending timeout's
    // scan, the outbox's claim and backlog), and most rows soon stop being either. Indexed whole, each
    // confirmed order and each delivered message wrote an index entry more, and both indexes grew with
    // every order ever placed; now a row leaves its index when it stops being pending or due.
    up: `
      DROP INDEX orders_pending;
      CREATE INDEX orders_pending ON orders (updated_at_ms) WHERE status = 'pending';
      DROP INDEX outbox_due;
      CREATE INDEX outbox_due ON outbox (next_attempt_at_ms) WHERE delivered_at IS NULL;
    `,
  },
];

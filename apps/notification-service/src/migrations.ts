import type { Migration } from '@chaos-platform/service-kit';

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'notifications',
    up: `
      CREATE TABLE notifications (
        order_id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        product_id TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
      );
    `,
  },
];

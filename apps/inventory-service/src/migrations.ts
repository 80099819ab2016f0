import type { Migration } from '@chaos-platform/service-kit';

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'products and reservations',
    // available + reserved stays equal to the stock a product started with: the integrity invariant.
    up: `
      CREATE TABLE products (
        product_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        available INTEGER NOT NULL CHECK (available >= 0),
        reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0)
      );
      CREATE TABLE reservations (
        order_id TEXT PRIMARY KEY,
        product_id TEXT NOT NULL REFERENCES products (product_id),
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        status TEXT NOT NULL CHECK (status IN ('reserved', 'released')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
];

export const catalogue = [
  { product_id: 'PROD-001', name: 'Mechanical keyboard' },
  { product_id: 'PROD-002', name: 'USB-C dock' },
  { product_id: 'PROD-003', name: '27" monitor' },
  { product_id: 'PROD-004', name: 'Noise-cancelling headset' },
  { product_id: 'PROD-005', name: 'Ergonomic mouse' },
] as const;

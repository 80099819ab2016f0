import type { FastifyInstance } from 'fastify';
import type { StockStore } from './stock.js';

export interface InventoryMetrics {
  reservations: { inc(labels: { outcome: string }): void };
  releases: { inc(labels: { outcome: string }): void };
}

export function createInventoryMetrics(app: FastifyInstance, stock: StockStore): InventoryMetrics {
  const { Counter, Gauge } = app.metrics.client;
  const reservations = new Counter({
    name: 'inventory_reservations_total',
    help: 'Reservation requests by outcome',
    labelNames: ['outcome'],
  });
  const releases = new Counter({
    name: 'inventory_releases_total',
    help: 'Reservation releases by outcome',
    labelNames: ['outcome'],
  });
  new Gauge({
    name: 'inventory_units',
    help: 'Units per product by state (available, reserved), read from the database at scrape time',
    labelNames: ['product_id', 'state'],
    async collect() {
      this.reset();
      for (const product of await stock.products()) {
        this.set({ product_id: product.product_id, state: 'available' }, product.available);
        this.set({ product_id: product.product_id, state: 'reserved' }, product.reserved);
      }
    },
  });
  return { reservations, releases };
}

import { createServiceApp, type Database } from '@chaos-platform/service-kit';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createInventoryMetrics } from './metrics.js';
import { inventoryRoutes } from './routes.js';
import { StockStore } from './stock.js';

export interface AppDeps {
  config: Config;
  db: Database;
  logger: FastifyBaseLogger | false;
}

export async function buildApp({ config, db, logger }: AppDeps): Promise<FastifyInstance> {
  const stock = new StockStore(db);
  return createServiceApp({
    config,
    logger,
    readiness: [() => db.ping()],
    routes: async (app) => {
      await app.register(inventoryRoutes, { stock, metrics: createInventoryMetrics(app, stock) });
    },
  });
}

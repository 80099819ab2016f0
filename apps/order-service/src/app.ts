import { createServiceApp, type Database, type Downstream } from '@chaos-platform/service-kit';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createOrderMetrics, type OrderMetrics } from './metrics.js';
import { OrdersStore } from './orders-store.js';
import { orderRoutes } from './routes.js';

export interface AppDeps {
  config: Config;
  db: Database;
  inventory: Downstream;
  notification: Downstream;
  logger: FastifyBaseLogger | false;
}

export interface OrderApp {
  app: FastifyInstance;
  orders: OrdersStore;
  metrics: OrderMetrics;
}

export async function buildApp({ config, db, inventory, notification, logger }: AppDeps): Promise<OrderApp> {
  const orders = new OrdersStore(db);
  let metrics: OrderMetrics | undefined;
  const app = await createServiceApp({
    config,
    logger,
    // Only the database: inventory or notification being down must not make this pod unready.
    readiness: [() => db.ping()],
    routes: async (scope) => {
      metrics = createOrderMetrics(scope, orders, [inventory, notification]);
      await scope.register(orderRoutes, { orders, inventory, metrics });
    },
  });
  await app.ready();
  if (!metrics) throw new Error('order routes were not registered');
  return { app, orders, metrics };
}

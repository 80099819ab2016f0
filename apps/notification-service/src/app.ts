import { createServiceApp, type Database } from '@chaos-platform/service-kit';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Mailer } from './mailer.js';
import { NotificationStore } from './notifications.js';
import { notificationRoutes } from './routes.js';

export interface AppDeps {
  config: Config;
  db: Database;
  mailer: Mailer;
  logger: FastifyBaseLogger | false;
}

export async function buildApp({ config, db, mailer, logger }: AppDeps): Promise<FastifyInstance> {
  const store = new NotificationStore(db);
  return createServiceApp({
    config,
    logger,
    // The SMTP server is not a readiness check: without it e-mails wait, the service still accepts them.
    readiness: [() => db.ping()],
    routes: async (app) => {
      const sends = new app.metrics.client.Counter({
        name: 'notifications_total',
        help: 'Notification requests by outcome (sent, duplicate, failed)',
        labelNames: ['outcome'],
      });
      await app.register(notificationRoutes, { store, mailer, sends });
    },
  });
}

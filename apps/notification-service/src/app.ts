import { createServiceApp, type Database } from '@chaos-platform/service-kit';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createMailer, type Mailer } from './mailer.js';
import { createNotificationMetrics } from './metrics.js';
import { NotificationStore } from './notifications.js';
import { notificationRoutes } from './routes.js';

export interface AppDeps {
  config: Config;
  db: Database;
  /** Where e-mails go. Unset: the one config names (SMTP_URL, else the log), closed with the app. */
  mailer?: Mailer;
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
      let routeMailer = mailer;
      if (!routeMailer) {
        const owned = createMailer(config, app.log);
        app.addHook('onClose', () => owned.close());
        routeMailer = owned;
      }
      await app.register(notificationRoutes, {
        store,
        mailer: routeMailer,
        metrics: createNotificationMetrics(app),
      });
    },
  });
}

import { createLogger, exitOnStartupError, openDatabase, startServer } from '@chaos-platform/service-kit';
import { buildApp } from './app.js';
import { readConfig } from './config.js';
import { migrations } from './migrations.js';

// Started from a function, not with top-level await: the bundle is CommonJS (scripts/bundle-service.mjs).
async function start(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.LOG_LEVEL, 'notification-service');
  const db = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    fileName: 'notifications.db',
    migrations,
    poolMax: config.DB_POOL_MAX,
    startupWaitMs: config.DB_STARTUP_WAIT_MS,
  });
  // The app builds the mailer SMTP_URL names and closes it with itself.
  const app = await buildApp({ config, db, logger: log });
  await startServer(app, { config, onShutdown: () => db.close() });
}

start().catch((error: unknown) => exitOnStartupError('notification-service', error));

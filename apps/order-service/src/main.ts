import {
  createLogger,
  Downstream,
  exitOnStartupError,
  openDatabase,
  startServer,
} from '@chaos-platform/service-kit';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { type Config, readConfig } from './config.js';
import { migrations } from './migrations.js';
import { OutboxWorker } from './outbox.js';

const downstream = (config: Config, log: Logger, name: string, baseUrl: string) =>
  new Downstream({
    name,
    baseUrl,
    // Its log lines name the downstream themselves (a child binding would repeat the key).
    logger: log,
    timeoutMs: config.DOWNSTREAM_TIMEOUT_MS,
    retries: config.DOWNSTREAM_RETRIES,
    retryBaseDelayMs: config.DOWNSTREAM_RETRY_BASE_DELAY_MS,
    breakerThreshold: config.BREAKER_THRESHOLD,
    breakerHalfOpenAfterMs: config.BREAKER_HALF_OPEN_AFTER_MS,
    connections: config.DOWNSTREAM_CONNECTIONS,
  });

// Started from a function, not with top-level await: the bundle is CommonJS (scripts/bundle-service.mjs).
async function start(): Promise<void> {
  const config = readConfig();
  const db = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    fileName: 'orders.db',
    migrations,
    poolMax: config.DB_POOL_MAX,
    startupWaitMs: config.DB_STARTUP_WAIT_MS,
  });
  const log = createLogger(config.LOG_LEVEL, 'order-service');
  const inventory = downstream(config, log, 'inventory-service', config.INVENTORY_URL);
  const notification = downstream(config, log, 'notification-service', config.NOTIFICATION_URL);
  const { app, orders, metrics } = await buildApp({
    config,
    db,
    inventory,
    notification,
    logger: log,
  });
  const outbox = new OutboxWorker(
    { orders, inventory, notification, metrics, load: app.load, log: log.child({ component: 'outbox' }) },
    {
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      batchSize: config.OUTBOX_BATCH_SIZE,
      maxBackoffMs: config.OUTBOX_MAX_BACKOFF_MS,
      pendingTimeoutMs: config.PENDING_ORDER_TIMEOUT_MS,
    },
  );
  await startServer(app, {
    config,
    onShutdown: async () => {
      await outbox.stop();
      await Promise.all([inventory.close(), notification.close()]);
      await db.close();
    },
  });
  outbox.start();
}

start().catch((error: unknown) => exitOnStartupError('order-service', error));

import { createLogger, exitOnStartupError, openDatabase, startServer } from '@chaos-platform/service-kit';
import { buildApp } from './app.js';
import { readConfig } from './config.js';
import { migrations } from './migrations.js';
import { StockStore } from './stock.js';

// Started from a function, not with top-level await: the bundle is CommonJS (scripts/bundle-service.mjs).
async function start(): Promise<void> {
  const config = readConfig();
  const db = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    fileName: 'inventory.db',
    migrations,
    poolMax: config.DB_POOL_MAX,
    startupWaitMs: config.DB_STARTUP_WAIT_MS,
  });
  await new StockStore(db).seed(config.SEED_STOCK);
  const app = await buildApp({ config, db, logger: createLogger(config.LOG_LEVEL, 'inventory-service') });
  await startServer(app, { config, onShutdown: () => db.close() });
}

start().catch((error: unknown) => exitOnStartupError('inventory-service', error));

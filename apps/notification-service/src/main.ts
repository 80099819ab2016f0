import { createLogger, exitOnStartupError, openDatabase, startServer } from '@chaos-platform/service-kit';
import { buildApp } from './app.js';
import { readConfig } from './config.js';
import { logMailer, smtpMailer } from './mailer.js';
import { migrations } from './migrations.js';

try {
  const config = readConfig();
  const log = createLogger(config.LOG_LEVEL, 'notification-service');
  const db = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    fileName: 'notifications.db',
    migrations,
    poolMax: config.DB_POOL_MAX,
  });
  const mailer = config.SMTP_URL
    ? smtpMailer(config.SMTP_URL, config.MAIL_FROM, config.SMTP_TIMEOUT_MS)
    : logMailer(log, config.MAIL_FROM);
  const app = await buildApp({ config, db, mailer, logger: log });
  await startServer(app, {
    config,
    onShutdown: async () => {
      await mailer.close();
      await db.close();
    },
  });
} catch (error) {
  exitOnStartupError('notification-service', error);
}

// What other workspaces' tests use to run a real notification-service in-process.
export { buildApp } from './app.js';
export { readConfig } from './config.js';
export { logMailer, type Mailer, smtpMailer } from './mailer.js';
export { migrations } from './migrations.js';

// What other workspaces' tests use to run a real notification-service in-process.
export { buildApp } from './app.js';
export { readConfig } from './config.js';
export { createMailer, logMailer, type Mail, type Mailer, smtpMailer } from './mailer.js';
export { migrations } from './migrations.js';
export { type Notification, NotificationStore } from './notifications.js';

import type { FastifyInstance } from 'fastify';

export type SendOutcome = 'sent' | 'duplicate' | 'failed';

export interface NotificationMetrics {
  notifications: { inc(labels: { outcome: SendOutcome }): void };
}

export function createNotificationMetrics(app: FastifyInstance): NotificationMetrics {
  const { Counter } = app.metrics.client;
  const notifications = new Counter({
    name: 'notifications_total',
    help: 'Notification requests by outcome (sent, duplicate, failed)',
    labelNames: ['outcome'],
  });
  return { notifications };
}

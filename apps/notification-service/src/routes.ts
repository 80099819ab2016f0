import { HttpProblem, ProblemSchema } from '@chaos-platform/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Mailer } from './mailer.js';
import type { NotificationMetrics } from './metrics.js';
import { type Notification, type NotificationStore, sameContent } from './notifications.js';

const OrderId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$' });
/**
 * What goes into an e-mail is held to what order-service accepts in an order (product ids, e-mail
 * addresses, quantities): no markup, control characters or other surprises reach a mail body.
 */
const ProductId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' });

const NotificationView = Type.Object({
  order_id: Type.String(),
  email: Type.String(),
  product_id: Type.String(),
  quantity: Type.Integer(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('sent')]),
  attempts: Type.Integer(),
  last_error: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  sent_at: Type.Union([Type.String(), Type.Null()]),
});

const errors = { '4xx': ProblemSchema, '5xx': ProblemSchema };

/** Seconds a caller should wait before retrying a notification whose send failed. */
const SEND_RETRY_AFTER_S = 5;

export interface NotificationRoutesOptions {
  store: NotificationStore;
  mailer: Mailer;
  metrics: NotificationMetrics;
}

export const notificationRoutes: FastifyPluginAsyncTypebox<NotificationRoutesOptions> = async (
  app,
  { store, mailer, metrics },
) => {
  app.post(
    '/notifications',
    {
      schema: {
        body: Type.Object(
          {
            order_id: OrderId,
            email: Type.String({ format: 'email', maxLength: 254 }),
            product_id: ProductId,
            quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: NotificationView, 201: NotificationView, ...errors },
      },
    },
    async (request, reply) => {
      const { notification, created } = await store.accept(request.body);
      if (!sameContent(notification, request.body)) {
        throw new HttpProblem({
          status: 422,
          title: 'Notification mismatch',
          type: 'notification-mismatch',
          detail: `order ${notification.order_id} already has a different notification`,
        });
      }
      const status = created ? 201 : 200;
      if (notification.status === 'sent') {
        metrics.notifications.inc({ outcome: 'duplicate' });
        return reply.code(status).send(notification);
      }
      try {
        await mailer.send(message(notification));
      } catch (error) {
        const reason = (error as Error).message;
        await store.failed(notification.order_id, reason);
        metrics.notifications.inc({ outcome: 'failed' });
        request.log.warn(
          { order_id: notification.order_id, err: error },
          'e-mail not sent; kept for a retry',
        );
        throw new HttpProblem({
          status: 503,
          title: 'Service Unavailable',
          type: 'mail-unavailable',
          detail: `the e-mail for order ${notification.order_id} could not be sent yet; it is kept, retry later`,
          headers: { 'retry-after': String(SEND_RETRY_AFTER_S) },
        });
      }
      // Sent but not recorded (database gone) is a 500: the caller's retry sends again, at least once.
      const sent = await store.sent(notification.order_id);
      metrics.notifications.inc({ outcome: 'sent' });
      return reply.code(status).send(sent);
    },
  );

  app.get(
    '/notifications/:order_id',
    {
      schema: { params: Type.Object({ order_id: OrderId }), response: { 200: NotificationView, ...errors } },
    },
    async (request) => {
      const notification = await store.get(request.params.order_id);
      if (!notification) {
        throw new HttpProblem({
          status: 404,
          title: 'Not Found',
          type: 'unknown-notification',
          detail: `no notification for order ${request.params.order_id}`,
        });
      }
      return notification;
    },
  );
};

const message = ({ order_id, email, product_id, quantity }: Notification) => ({
  to: email,
  subject: `Order ${order_id} confirmed`,
  text: `Your order ${order_id} for ${quantity} x ${product_id} is confirmed.`,
});

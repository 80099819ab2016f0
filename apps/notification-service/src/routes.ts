import { HttpProblem, ProblemSchema } from '@chaos-platform/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Mailer } from './mailer.js';
import type { NotificationMetrics } from './metrics.js';
import { type NotificationRequest, type NotificationStore, sameContent } from './notifications.js';

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
      // A read, then one write after the attempt: a new notification costs a single commit.
      const existing = await store.get(request.body.order_id);
      if (existing && !sameContent(existing, request.body)) throw mismatch(existing.order_id);
      const status = existing ? 200 : 201;
      if (existing?.status === 'sent') {
        metrics.notifications.inc({ outcome: 'duplicate' });
        return reply.code(status).send(existing);
      }
      try {
        await mailer.send(message(request.body));
      } catch (error) {
        const reason = (error as Error).message;
        await store.record(request.body, reason);
        metrics.notifications.inc({ outcome: 'failed' });
        request.log.warn(
          { order_id: request.body.order_id, err: error },
          'e-mail not sent; kept for a retry',
        );
        throw new HttpProblem({
          status: 503,
          title: 'Service Unavailable',
          type: 'mail-unavailable',
          detail: `the e-mail for order ${request.body.order_id} could not be sent yet; it is kept, retry later`,
          headers: { 'retry-after': String(SEND_RETRY_AFTER_S) },
        });
      }
      // Sent but not recorded (database gone) is a 500: the caller's retry sends again, at least once.
      const sent = await store.record(request.body, null);
      // Another notification for this order was stored meanwhile (two different bodies at once).
      if (!sent) throw mismatch(request.body.order_id);
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

const mismatch = (orderId: string) =>
  new HttpProblem({
    status: 422,
    title: 'Notification mismatch',
    type: 'notification-mismatch',
    detail: `order ${orderId} already has a different notification`,
  });

const message = ({ order_id, email, product_id, quantity }: NotificationRequest) => ({
  to: email,
  subject: `Order ${order_id} confirmed`,
  text: `Your order ${order_id} for ${quantity} x ${product_id} is confirmed.`,
});

import { HttpProblem, type ProblemInit, ProblemSchema, problemBody } from '@chaos-platform/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Mailer } from './mailer.js';
import type { NotificationMetrics } from './metrics.js';
import {
  type Attempt,
  type Notification,
  type NotificationRequest,
  type NotificationStore,
  sameContent,
} from './notifications.js';

const OrderId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$' });
/**
 * What goes into an e-mail is held to what order-service accepts in an order (product ids, e-mail
 * addresses, quantities): no markup, control characters or other surprises reach a mail body.
 */
const ProductId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' });

const NotificationBody = Type.Object(
  {
    order_id: OrderId,
    email: Type.String({ format: 'email', maxLength: 254 }),
    product_id: ProductId,
    quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
  },
  { additionalProperties: false },
);

/**
 * Notifications one batch request may carry: order-service's outbox sends a pass's worth (its
 * default batch is 100) in one request and one commit instead of one of each per order.
 */
export const MAX_BATCH = 100;
/** The largest valid batch (every field at its longest, escaped) fits; the other routes keep 16 KiB. */
const BATCH_BODY_LIMIT = 256 * 1024;

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

/** What became of one notification of a batch: the status and body its own POST would answer. */
const BatchResult = Type.Union([
  Type.Object({
    order_id: Type.String(),
    status: Type.Union([Type.Literal(200), Type.Literal(201)]),
    notification: NotificationView,
  }),
  Type.Object({ order_id: Type.String(), status: Type.Integer(), problem: ProblemSchema }),
]);

type Outcome = { status: 200 | 201; notification: Notification } | { problem: ProblemInit };

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
  /**
   * Sends the e-mails of `requests` (distinct orders) not sent yet, each once: one read, the sends
   * at once, then one write for all attempts. Sent but not recorded (the database gone) throws, a
   * 500: the caller's retry sends again, at least once.
   */
  const notify = async (requests: readonly NotificationRequest[]): Promise<Outcome[]> => {
    const existing = await store.getMany(requests.map((request) => request.order_id));
    const due = requests.filter((request) => {
      const stored = existing.get(request.order_id);
      return !stored || (sameContent(stored, request) && stored.status !== 'sent');
    });
    const sends = await Promise.allSettled(due.map((request) => mailer.send(message(request))));
    const attempts: Attempt[] = due.map((request, i) => {
      const send = sends[i] as PromiseSettledResult<void>;
      return { request, error: send.status === 'rejected' ? errorMessage(send.reason) : null };
    });
    const failed = new Map(attempts.map(({ request, error }) => [request.order_id, error]));
    const recorded = attempts.length ? await store.recordMany(attempts) : new Map<string, Notification>();
    return requests.map((request): Outcome => {
      const stored = existing.get(request.order_id);
      const status = stored ? 200 : 201;
      if (stored && !sameContent(stored, request)) return { problem: mismatch(request.order_id) };
      if (stored?.status === 'sent') {
        metrics.notifications.inc({ outcome: 'duplicate' });
        return { status, notification: stored };
      }
      const error = failed.get(request.order_id);
      if (typeof error === 'string') {
        metrics.notifications.inc({ outcome: 'failed' });
        app.log.warn({ order_id: request.order_id, reason: error }, 'e-mail not sent; kept for a retry');
        return { problem: unsent(request.order_id) };
      }
      const sent = recorded.get(request.order_id);
      // Another notification for this order was stored meanwhile (two different bodies at once).
      if (!sent) return { problem: mismatch(request.order_id) };
      metrics.notifications.inc({ outcome: 'sent' });
      return { status, notification: sent };
    });
  };

  app.post(
    '/notifications',
    {
      schema: {
        body: NotificationBody,
        response: { 200: NotificationView, 201: NotificationView, ...errors },
      },
    },
    async (request, reply) => {
      const [outcome] = (await notify([request.body])) as [Outcome];
      if ('problem' in outcome) throw new HttpProblem(outcome.problem);
      return reply.code(outcome.status).send(outcome.notification);
    },
  );

  // Many notifications in one request: each is handled as its own POST /notifications would be
  // (idempotent per order), and its result carries the status and body that POST would answer.
  // The batch answers 200 when it was handled, whatever its items' outcomes.
  app.post(
    '/notifications/batch',
    {
      bodyLimit: BATCH_BODY_LIMIT,
      schema: {
        body: Type.Object(
          { notifications: Type.Array(NotificationBody, { minItems: 1, maxItems: MAX_BATCH }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ results: Type.Array(BatchResult) }), ...errors },
      },
    },
    async (request) => {
      const { notifications } = request.body;
      const seen = new Set<string>();
      for (const { order_id } of notifications) {
        if (seen.has(order_id)) {
          throw new HttpProblem({
            status: 400,
            title: 'Bad Request',
            type: 'duplicate-order-id',
            detail: `order ${order_id} appears more than once in the batch; send one notification per order`,
          });
        }
        seen.add(order_id);
      }
      const outcomes = await notify(notifications);
      return {
        results: outcomes.map((outcome, i) => {
          const order_id = (notifications[i] as NotificationRequest).order_id;
          return 'problem' in outcome
            ? { order_id, status: outcome.problem.status, problem: problemBody(outcome.problem) }
            : { order_id, status: outcome.status, notification: outcome.notification };
        }),
      };
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

const mismatch = (orderId: string): ProblemInit => ({
  status: 422,
  title: 'Notification mismatch',
  type: 'notification-mismatch',
  detail: `order ${orderId} already has a different notification`,
});

const unsent = (orderId: string): ProblemInit => ({
  status: 503,
  title: 'Service Unavailable',
  type: 'mail-unavailable',
  detail: `the e-mail for order ${orderId} could not be sent yet; it is kept, retry later`,
  headers: { 'retry-after': String(SEND_RETRY_AFTER_S) },
});

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

const message = ({ order_id, email, product_id, quantity }: NotificationRequest) => ({
  to: email,
  subject: `Order ${order_id} confirmed`,
  text: `Your order ${order_id} for ${quantity} x ${product_id} is confirmed.`,
});

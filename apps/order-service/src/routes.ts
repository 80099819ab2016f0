import { HttpProblem, ProblemSchema } from '@chaos-platform/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Order } from './orders-store.js';
import { type PlaceOrderDeps, placeOrder } from './place-order.js';

const OrderBody = Type.Object(
  {
    product_id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' }),
    quantity: Type.Integer({ minimum: 1, maximum: 1000 }),
    email: Type.String({ format: 'email', maxLength: 254 }),
  },
  { additionalProperties: false },
);

const OrderView = Type.Object({
  id: Type.String(),
  status: Type.String(),
  product_id: Type.String(),
  quantity: Type.Integer(),
  email: Type.String(),
  created_at: Type.String(),
  failure_reason: Type.Optional(Type.String()),
});

const errors = { '4xx': ProblemSchema, '5xx': ProblemSchema };

const view = (order: Order) => ({
  id: order.id,
  status: order.status,
  product_id: order.product_id,
  quantity: order.quantity,
  email: order.email,
  created_at: order.created_at,
  ...(order.failure_reason ? { failure_reason: order.failure_reason } : {}),
});

export const orderRoutes: FastifyPluginAsyncTypebox<PlaceOrderDeps> = async (app, deps) => {
  const { orders, metrics } = deps;

  app.post(
    '/orders',
    {
      schema: {
        body: OrderBody,
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' }),
          ),
        }),
        response: { 201: OrderView, ...errors },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      let outcome = 'error';
      try {
        const { order, replayed } = await placeOrder(
          deps,
          request.body,
          request.headers['idempotency-key'],
          request.id,
        );
        outcome = replayed ? 'replayed' : 'created';
        if (replayed) reply.header('idempotent-replayed', 'true');
        return reply.code(201).header('location', `/orders/${order.id}`).send(view(order));
      } catch (error) {
        if (error instanceof HttpProblem) outcome = (error.init.type ?? 'error').replaceAll('-', '_');
        throw error;
      } finally {
        const productId = outcome === 'unknown_product' ? 'unknown' : request.body.product_id;
        metrics.orderRequests.inc({ status: outcome, product_id: productId });
        metrics.orderDuration.observe({ status: outcome }, (performance.now() - started) / 1000);
      }
    },
  );

  app.get(
    '/orders/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: OrderView, ...errors },
      },
    },
    async (request) => {
      const order = await orders.byId(request.params.id);
      if (!order) {
        throw new HttpProblem({
          status: 404,
          title: 'Not Found',
          type: 'unknown-order',
          detail: `no order ${request.params.id}`,
        });
      }
      return view(order);
    },
  );
};

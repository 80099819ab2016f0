import { HttpProblem, ProblemSchema } from '@chaos-platform/service-kit';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { InventoryMetrics } from './metrics.js';
import type { StockStore } from './stock.js';

export const ProductId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' });
export const OrderId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' });

const Product = Type.Object({
  product_id: Type.String(),
  name: Type.String(),
  available: Type.Integer(),
  reserved: Type.Integer(),
});

const Reservation = Type.Object({
  order_id: Type.String(),
  product_id: Type.String(),
  quantity: Type.Integer(),
  status: Type.Union([Type.Literal('reserved'), Type.Literal('released')]),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const errors = { '4xx': ProblemSchema, '5xx': ProblemSchema };

export interface InventoryRoutesOptions {
  stock: StockStore;
  metrics: InventoryMetrics;
}

export const inventoryRoutes: FastifyPluginAsyncTypebox<InventoryRoutesOptions> = async (
  app,
  { stock, metrics },
) => {
  app.get('/inventory', { schema: { response: { 200: Type.Array(Product), ...errors } } }, () =>
    stock.products(),
  );

  app.get(
    '/inventory/:product_id',
    { schema: { params: Type.Object({ product_id: ProductId }), response: { 200: Product, ...errors } } },
    async (request) => {
      const product = await stock.product(request.params.product_id);
      if (!product) throw unknownProduct(request.params.product_id);
      return product;
    },
  );

  app.post(
    '/reservations',
    {
      schema: {
        body: Type.Object(
          {
            order_id: OrderId,
            product_id: ProductId,
            quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Reservation, 201: Reservation, ...errors },
      },
    },
    async (request, reply) => {
      const { order_id, product_id, quantity } = request.body;
      const result = await stock.reserve(order_id, product_id, quantity);
      metrics.reservations.inc({ outcome: result.outcome });
      switch (result.outcome) {
        case 'reserved':
          return reply.code(201).send(result.reservation);
        case 'already-reserved':
          return reply.code(200).send(result.reservation);
        case 'unknown-product':
          throw unknownProduct(product_id);
        case 'out-of-stock':
          throw new HttpProblem({
            status: 409,
            title: 'Out of stock',
            type: 'out-of-stock',
            detail: `${product_id} has ${result.available} units available, ${quantity} requested`,
            extensions: { product_id, available: result.available, requested: quantity },
          });
        case 'mismatch':
          throw new HttpProblem({
            status: 422,
            title: 'Reservation mismatch',
            type: 'reservation-mismatch',
            detail: `order ${order_id} already holds a reservation for ${result.reservation.quantity} x ${result.reservation.product_id}`,
          });
      }
    },
  );

  const byOrder = { params: Type.Object({ order_id: OrderId }) };

  app.get(
    '/reservations/:order_id',
    { schema: { ...byOrder, response: { 200: Reservation, ...errors } } },
    async (request) => {
      const reservation = await stock.reservation(request.params.order_id);
      if (!reservation) throw noReservation(request.params.order_id);
      return reservation;
    },
  );

  app.delete(
    '/reservations/:order_id',
    { schema: { ...byOrder, response: { 200: Reservation, ...errors } } },
    async (request) => {
      const result = await stock.release(request.params.order_id);
      metrics.releases.inc({ outcome: result.outcome });
      if (result.outcome === 'not-found') throw noReservation(request.params.order_id);
      return result.reservation;
    },
  );
};

const unknownProduct = (productId: string) =>
  new HttpProblem({
    status: 404,
    title: 'Unknown product',
    type: 'unknown-product',
    detail: `no product ${productId}`,
  });

const noReservation = (orderId: string) =>
  new HttpProblem({
    status: 404,
    title: 'Not Found',
    type: 'unknown-reservation',
    detail: `no reservation for ${orderId}`,
  });

// Placing an order: store it pending, reserve stock (idempotent per order id, so retries are
// safe), then confirm it and queue its notification atomically.
import {
  type Downstream,
  DownstreamRequestError,
  DownstreamUnavailableError,
  HttpProblem,
} from '@chaos-platform/service-kit';
import type { OrderMetrics } from './metrics.js';
import { type Order, type OrderRequest, type OrdersStore, requestHash } from './orders-store.js';

export interface PlaceOrderDeps {
  orders: OrdersStore;
  inventory: Downstream;
  metrics: OrderMetrics;
}

export interface Placed {
  order: Order;
  /** True when an Idempotency-Key replay returned an order placed earlier. */
  replayed: boolean;
}

export async function placeOrder(
  { orders, inventory, metrics }: PlaceOrderDeps,
  request: OrderRequest,
  idempotencyKey: string | undefined,
  requestId: string,
): Promise<Placed> {
  const { order, created } = await orders.createPending(request, idempotencyKey);
  if (!created) {
    if (order.request_hash !== requestHash(request)) {
      throw new HttpProblem({
        status: 422,
        title: 'Idempotency-Key reused',
        type: 'idempotency-key-reused',
        detail: 'this Idempotency-Key was used for a different order; use a new key for a new order',
      });
    }
    if (order.status === 'confirmed') return { order, replayed: true };
    if (order.status !== 'pending') throw finalProblem(order);
    await orders.touch(order.id);
  }

  let reply: Awaited<ReturnType<Downstream['request']>>;
  try {
    reply = await inventory.request({
      method: 'POST',
      path: '/reservations',
      body: { order_id: order.id, product_id: order.product_id, quantity: order.quantity },
      headers: { 'x-request-id': requestId },
      idempotent: true,
    });
  } catch (error) {
    if (error instanceof DownstreamRequestError) throw ourBug(order, error.message);
    if (!(error instanceof DownstreamUnavailableError)) throw error;
    metrics.inventoryRequests.inc({ outcome: error.reason.replace('-', '_') });
    // The order stays pending: a retry with the same Idempotency-Key resumes it, and the pending
    // timeout fails it (releasing any stock) if nobody does.
    throw new HttpProblem({
      status: 503,
      title: 'Service Unavailable',
      type: 'dependency-unavailable',
      detail: `inventory-service is unavailable (${error.reason}); order ${order.id} was not placed, retry later`,
      headers: { 'retry-after': String(error.retryAfterSeconds) },
      extensions: { order_id: order.id },
    });
  }

  metrics.inventoryRequests.inc({ outcome: reply.status < 300 ? 'success' : 'rejected' });
  if (reply.status === 200 || reply.status === 201) {
    const confirmed = await orders.confirm(order);
    if (confirmed.status === 'confirmed') return { order: confirmed, replayed: !created };
    // Failed by the pending timeout while we reserved: give the stock back.
    await orders.queueRelease(order.id);
    throw finalProblem(confirmed);
  }
  if (reply.status === 409) throw finalProblem(await orders.reject(order.id, 'out-of-stock'));
  if (reply.status === 404) throw finalProblem(await orders.reject(order.id, 'unknown-product'));
  throw ourBug(order, `inventory-service answered ${reply.status} to a reservation`);
}

/**
 * The inventory refused a request we built: a bug of ours, not its outage (so not a 503, and never
 * a breaker failure). The order stays pending; the pending timeout fails it.
 */
function ourBug(order: Order, detail: string): HttpProblem {
  return new HttpProblem({
    status: 500,
    title: 'Internal Server Error',
    type: 'downstream-rejected-request',
    detail: `${detail}; order ${order.id} was not placed`,
    extensions: { order_id: order.id },
  });
}

/** The problem a settled, unsuccessful order answers with, the first time and on every replay. */
function finalProblem(order: Order): HttpProblem {
  const extensions = { order_id: order.id, product_id: order.product_id };
  switch (order.failure_reason) {
    case 'out-of-stock':
      return new HttpProblem({
        status: 409,
        title: 'Out of stock',
        type: 'out-of-stock',
        detail: `not enough ${order.product_id} in stock for ${order.quantity} units`,
        extensions,
      });
    case 'unknown-product':
      return new HttpProblem({
        status: 422,
        title: 'Unknown product',
        type: 'unknown-product',
        detail: `no product ${order.product_id}`,
        extensions,
      });
    default:
      return new HttpProblem({
        status: 409,
        title: 'Order failed',
        type: 'order-failed',
        detail: `order ${order.id} failed (${order.failure_reason ?? order.status}); place it again with a new Idempotency-Key`,
        extensions,
      });
  }
}

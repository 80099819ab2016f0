import type { BreakerState, Downstream } from '@chaos-platform/service-kit';
import type { FastifyInstance } from 'fastify';
import type { OrdersStore } from './orders-store.js';

interface CounterLike<L extends string> {
  inc(labels: Record<L, string>): void;
}

export interface OrderMetrics {
  orderRequests: CounterLike<'status' | 'product_id'>;
  orderDuration: { observe(labels: Record<'status', string>, seconds: number): void };
  inventoryRequests: CounterLike<'outcome'>;
  outboxDeliveries: CounterLike<'kind' | 'outcome'>;
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 2 };

export function createOrderMetrics(
  app: FastifyInstance,
  orders: OrdersStore,
  downstreams: readonly Downstream[],
): OrderMetrics {
  const { Counter, Gauge, Histogram } = app.metrics.client;

  new Gauge({
    name: 'circuit_breaker_state',
    help: 'Circuit breaker state per downstream: 0 closed, 1 half-open, 2 open',
    labelNames: ['downstream'],
    collect() {
      for (const downstream of downstreams)
        this.set({ downstream: downstream.name }, BREAKER_VALUE[downstream.state]);
    },
  });
  const opens = new Counter({
    name: 'circuit_breaker_opens_total',
    help: 'Times a downstream circuit breaker opened',
    labelNames: ['downstream'],
  });
  for (const downstream of downstreams) {
    opens.inc({ downstream: downstream.name }, 0);
    downstream.onStateChange((state) => {
      if (state === 'open') opens.inc({ downstream: downstream.name });
    });
  }

  new Gauge({
    name: 'outbox_pending_messages',
    help: 'Outbox messages not yet delivered, by kind (read from the database at scrape time)',
    labelNames: ['kind'],
    async collect() {
      this.set({ kind: 'notify' }, 0);
      this.set({ kind: 'release' }, 0);
      for (const { kind, count } of await orders.undelivered()) this.set({ kind }, count);
    },
  });

  new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest undelivered outbox message (0 when none): how far delivery lags behind orders',
    async collect() {
      const oldest = await orders.oldestUndelivered();
      this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000));
    },
  });

  return {
    orderRequests: new Counter({
      name: 'order_requests_total',
      help: 'Order requests by outcome and product',
      labelNames: ['status', 'product_id'],
    }),
    orderDuration: new Histogram({
      name: 'order_request_duration_seconds',
      help: 'Time to answer POST /orders, by outcome',
      labelNames: ['status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    inventoryRequests: new Counter({
      name: 'inventory_requests_total',
      help: 'Calls from order-service to inventory-service by outcome',
      labelNames: ['outcome'],
    }),
    outboxDeliveries: new Counter({
      name: 'outbox_deliveries_total',
      help: 'Outbox delivery attempts by kind and outcome',
      labelNames: ['kind', 'outcome'],
    }),
  };
}

import fastifyMetrics from 'fastify-metrics';
import fp from 'fastify-plugin';

// fastify-metrics is CommonJS with an `exports.default`: from ESM the plugin sits one level down.
const metricsPlugin = fastifyMetrics.default;

/** Prometheus /metrics with process metrics and per-route HTTP histograms (fastify-metrics). */
export const metrics = fp(
  async (app) => {
    await app.register(metricsPlugin, {
      endpoint: '/metrics',
      // One app per process in production; tests build many, each must start from an empty registry.
      clearRegisterOnInit: true,
      routeMetrics: {
        enabled: { histogram: true, summary: false },
        routeBlacklist: ['/metrics', '/healthz', '/readyz'],
        overrides: {
          histogram: { buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
        },
      },
    });
  },
  { name: 'metrics' },
);

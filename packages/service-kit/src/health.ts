// Liveness and readiness. Neither asks another service: one outage must not restart its callers.
import fp from 'fastify-plugin';

export type ReadinessCheck = () => Promise<void>;

/** The probes and Prometheus' scrape: never shed, and all the probe listener serves (server.ts). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

export interface HealthOptions {
  /** Each resolves when a local dependency (the database) answers; a rejection makes the pod unready. */
  readiness: readonly ReadinessCheck[];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Set when shutdown begins: readiness answers 503 from then on. */
    lifecycle: { shuttingDown: boolean };
  }
}

export const healthPlugin = fp<HealthOptions>(
  async (app, { readiness }) => {
    app.decorate('lifecycle', { shuttingDown: false });

    // Probes hit these every few seconds: keep them out of the info logs.
    app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

    app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
      if (app.lifecycle.shuttingDown) {
        return reply.code(503).send({ status: 'shutting-down' });
      }
      try {
        await Promise.all(readiness.map((check) => check()));
        return { status: 'ready' };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        return reply.code(503).send({ status: 'not-ready', reason: (error as Error).message });
      }
    });
  },
  { name: 'health' },
);

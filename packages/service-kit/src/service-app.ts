// The one way every service builds its Fastify app: same logging, errors, probes, metrics and
// load shedding everywhere; the service brings only its routes. Builds without listening.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { BaseConfig } from './config.js';
import { healthPlugin, type ReadinessCheck } from './health.js';
import { registerLoadShedding } from './load-shedding.js';
import { REQUEST_ID_HEADER, requestIdOptions } from './logger.js';
import { metrics } from './metrics.js';
import { installProblemHandlers } from './problem.js';

export interface ServiceAppOptions {
  config: Pick<
    BaseConfig,
    'LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS' | 'LOAD_SHED_MAX_HEAP_RATIO' | 'LOAD_SHED_RETRY_AFTER_S'
  >;
  /** The process logger from `createLogger()`, or false (tests). */
  logger: FastifyBaseLogger | false;
  readiness: readonly ReadinessCheck[];
  /** The service's business routes; they run behind load shedding. */
  routes: FastifyPluginAsync;
  bodyLimit?: number;
}

export async function createServiceApp(opts: ServiceAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    ...requestIdOptions(),
    bodyLimit: opts.bodyLimit ?? 16 * 1024,
    ajv: {
      // "2" is not a quantity: wrong types are rejected, not coerced.
      customOptions: { coerceTypes: false, removeAdditional: true, allErrors: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onSend', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    // Draining: a kept-alive connection would hold the closing server open past its last response.
    if (app.lifecycle?.shuttingDown) reply.header('connection', 'close');
  });
  installProblemHandlers(app);
  await app.register(metrics);
  await app.register(healthPlugin, { readiness: opts.readiness });

  await app.register(async (business) => {
    await registerLoadShedding(business, {
      maxEventLoopDelayMs: opts.config.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapRatio: opts.config.LOAD_SHED_MAX_HEAP_RATIO,
      retryAfterSeconds: opts.config.LOAD_SHED_RETRY_AFTER_S,
    });
    await business.register(opts.routes);
  });
  return app;
}

// The one way every service builds its Fastify app: same logging, errors, probes, metrics and
// load shedding everywhere; the service brings only its routes. Builds without listening.
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { BaseConfig } from './config.js';
import { gateConnections } from './connection-gate.js';
import { healthPlugin, PROBE_PATHS, type ReadinessCheck } from './health.js';
import { installJsonBodyParser } from './json-body.js';
import { lazyValidatorCompiler } from './lazy-validation.js';
import { type LoadState, registerLoadShedding } from './load-shedding.js';
import { requestIdOptions, requestLogController } from './logger.js';
import { metrics } from './metrics.js';
import { answerClientError, frameworkErrorHandler, installProblemHandlers } from './problem.js';
import { REQUEST_ID_HEADER } from './request-id.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether business requests are queueing or being shed (background work then holds back). */
    load: LoadState;
  }
}

/** Names the replica that answered (the load generator shows traffic per replica with it). */
export const SERVED_BY_HEADER = 'x-served-by';

export interface ServiceAppOptions {
  config: Pick<
    BaseConfig,
    | 'PORT'
    | 'POD_NAME'
    | 'LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS'
    | 'LOAD_SHED_MAX_HEAP_RATIO'
    | 'LOAD_SHED_RETRY_AFTER_S'
    | 'ADMISSION_MAX_IN_FLIGHT'
    | 'ADMISSION_MAX_QUEUE'
    | 'ADMISSION_MAX_QUEUE_WAIT_MS'
    | 'HTTP_HEADERS_TIMEOUT_MS'
    | 'HTTP_REQUEST_TIMEOUT_MS'
    | 'HTTP_KEEP_ALIVE_TIMEOUT_MS'
    | 'MAX_CONNECTIONS'
    | 'LOG_SLOW_REQUEST_MS'
    | 'LOG_REQUEST_SAMPLE_RATE'
  >;
  /** The process logger from `createLogger()`, or false (tests). */
  logger: FastifyBaseLogger | false;
  readiness: readonly ReadinessCheck[];
  /** The service's business routes; they run behind load shedding. */
  routes: FastifyPluginAsync;
  bodyLimit?: number;
}

export async function createServiceApp(opts: ServiceAppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  let instance: string | undefined;
  // Resolved on first use: the port is known only once listening (PORT=0 in tests).
  const servedBy = () => {
    instance ??=
      config.POD_NAME ?? `${hostname()}:${(app.server.address() as AddressInfo | null)?.port ?? config.PORT}`;
    return instance;
  };
  const app: FastifyInstance = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    ...requestIdOptions(),
    logController: requestLogController(config),
    // Every connection has a deadline: a client that never finishes its headers or its request
    // is cut off (slowloris), an idle keep-alive connection is closed.
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS),
      // Node checks those deadlines this often (default 30 s, which would stretch them).
      connectionsCheckingInterval: Math.min(1000, config.HTTP_HEADERS_TIMEOUT_MS),
      // Answered by installProblemHandlers instead, as problem+json (Node's own 400 has no body).
      requireHostHeader: false,
    },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: (error, socket) => answerClientError(error, socket, app.log, servedBy),
    bodyLimit: opts.bodyLimit ?? 16 * 1024,
    ajv: {
      // "2" is not a quantity: wrong types are rejected, not coerced.
      customOptions: { coerceTypes: false, removeAdditional: true, allErrors: true },
    },
    schemaController: { compilersFactory: { buildValidator: lazyValidatorCompiler } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onSend', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header(SERVED_BY_HEADER, servedBy());
    // Draining: a kept-alive connection would hold the closing server open past its last response.
    if (app.lifecycle?.shuttingDown) reply.header('connection', 'close');
  });
  // Past this, Node closes new connections on arrival: a flood cannot use up the file descriptors
  // (the connection gate below counts handed-over connections as well).
  app.server.maxConnections = config.MAX_CONNECTIONS;
  // Out of file descriptors, accept() fails and the server emits 'error'; unheard, that is an
  // uncaught exception and the process exits. libuv keeps listening, so once descriptors free up
  // the service serves again: log it and carry on.
  app.server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.syscall === 'accept') app.log.warn({ err: error }, 'cannot accept a connection');
    else app.log.error({ err: error }, 'server error');
  });
  installProblemHandlers(app);
  installJsonBodyParser(app);
  await app.register(metrics);
  await app.register(healthPlugin, { readiness: opts.readiness });

  let load: LoadState | undefined;
  await app.register(async (business) => {
    load = await registerLoadShedding(business, {
      maxEventLoopDelayMs: config.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapRatio: config.LOAD_SHED_MAX_HEAP_RATIO,
      retryAfterSeconds: config.LOAD_SHED_RETRY_AFTER_S,
      maxInFlight: config.ADMISSION_MAX_IN_FLIGHT,
      maxQueue: config.ADMISSION_MAX_QUEUE,
      maxQueueWaitMs: config.ADMISSION_MAX_QUEUE_WAIT_MS,
    });
    await business.register(opts.routes);
  });
  const state: LoadState = {
    saturated: () => load?.saturated() ?? false,
    connectionRefusal: () => load?.connectionRefusal(),
  };
  app.decorate('load', state);
  gateConnections(app.server, {
    maxConnections: config.MAX_CONNECTIONS,
    refusal: state.connectionRefusal,
    exempt: PROBE_PATHS,
    retryAfterSeconds: config.LOAD_SHED_RETRY_AFTER_S,
    servedBy,
  });
  return app;
}

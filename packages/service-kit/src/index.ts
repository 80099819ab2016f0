// Brings fastify-metrics' `app.metrics` typing to every service that uses the kit.
export type { IFastifyMetrics } from 'fastify-metrics';
export {
  type BaseConfig,
  baseConfigProperties,
  ConfigError,
  loadConfig,
  serviceConfigSchema,
} from './config.js';
export { type HealthOptions, healthPlugin, type ReadinessCheck } from './health.js';
export * from './http-client/index.js';
export { type LoadSheddingOptions, type LoadState, registerLoadShedding } from './load-shedding.js';
export { createLogger } from './logger.js';
export {
  HttpProblem,
  PROBLEM_CONTENT_TYPE,
  type ProblemInit,
  ProblemSchema,
  problemBody,
  sendProblem,
} from './problem.js';
export { REQUEST_ID_HEADER } from './request-id.js';
export { exitOnStartupError, type StartOptions, startServer } from './server.js';
export { createServiceApp, type ServiceAppOptions } from './service-app.js';
export * from './storage/index.js';

import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { BaseConfig } from './config.js';
import { requestIdFor } from './request-id.js';

/**
 * The process's pino logger, made before the app so that clients created at startup log with it.
 * JSON lines (to stdout, or `destination`); pretty ones only when a person is watching a terminal.
 */
export function createLogger(level: string, service: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service },
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url,
        remoteAddress: request.ip,
      }),
      res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
      err: pino.stdSerializers.err,
    },
    ...(process.stdout.isTTY && !destination
      ? { transport: { target: 'pino-pretty', options: { colorize: true } } }
      : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Keeps a caller's valid request id (so one id follows a request across services) or makes one. */
export const requestIdOptions = () =>
  ({
    // Off: Fastify would take the header as is; requestIdFor checks it first.
    requestIdHeader: false,
    genReqId: requestIdFor,
  }) satisfies FastifyServerOptions;

export type RequestLogConfig = Pick<BaseConfig, 'LOG_SLOW_REQUEST_MS' | 'LOG_REQUEST_SAMPLE_RATE'>;

/**
 * Request logs at what they are worth: Fastify's default, two info lines per request, cost more
 * CPU than a cheap route under load and say what the metrics already count. Here a request gets
 * one line, with method, URL, status and time, only when it is a server error (error for a 500
 * or a failed response, warn for the other 5xx: shed load, an unreachable dependency), slower
 * than LOG_SLOW_REQUEST_MS (warn), or in the LOG_REQUEST_SAMPLE_RATE share of the rest (info).
 */
class RequestLog extends LogController {
  constructor(private readonly config: RequestLogConfig) {
    super({ requestIdLogLabel: 'request_id' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    const verdict = this.worth(error, reply);
    if (!verdict) return; // the common case: nothing built, nothing written
    const [level, message] = verdict;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    reply.log[level](error ? { ...line, err: error } : line, message);
  }

  /** Whether a finished request is worth a line, and at which level. */
  private worth(error: Error | null | undefined, reply: FastifyReply) {
    if (error || reply.statusCode === 500) return ['error', 'request failed'] as const;
    if (reply.statusCode >= 500) return ['warn', 'request failed'] as const;
    const { LOG_SLOW_REQUEST_MS: slowMs, LOG_REQUEST_SAMPLE_RATE: sampleRate } = this.config;
    if (slowMs > 0 && reply.elapsedTime >= slowMs) return ['warn', 'slow request'] as const;
    if (sampleRate > 0 && Math.random() < sampleRate) return ['info', 'request completed'] as const;
    return undefined;
  }
}

export const requestLogController = (config: RequestLogConfig): LogController => new RequestLog(config);

import { randomUUID } from 'node:crypto';
import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import { type Logger, pino } from 'pino';

export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * The process's pino logger, made before the app so that clients created at startup log with it.
 * JSON lines; pretty ones only when a person is watching a terminal.
 */
export function createLogger(level: string, service: string): Logger {
  return pino({
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
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}

/** Keeps a caller's request id (so one id follows a request across services) or makes one. */
export const requestIdOptions = () =>
  ({
    requestIdHeader: REQUEST_ID_HEADER,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    genReqId: () => randomUUID(),
  }) satisfies FastifyServerOptions;

// RFC 9457 problem details: every error a service answers is application/problem+json.
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Response schema for every 4xx/5xx; extra members (errors, order_id...) pass through. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

export interface ProblemInit {
  status: number;
  title: string;
  detail?: string;
  /** A short slug, expanded to a stable type URI. */
  type?: string;
  headers?: Record<string, string>;
  extensions?: Record<string, unknown>;
}

/** Throw from a handler to answer with a problem; the error handler renders it. */
export class HttpProblem extends Error {
  readonly statusCode: number;
  constructor(readonly init: ProblemInit) {
    super(init.detail ?? init.title);
    this.statusCode = init.status;
  }
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(reply: FastifyReply, init: ProblemInit): FastifyReply {
  const { status, title, detail, type, headers, extensions } = init;
  if (headers) reply.headers(headers);
  return reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      type: type ? `https://chaos-platform.dev/problems/${type}` : 'about:blank',
      title,
      status,
      ...(detail === undefined ? {} : { detail }),
      instance: reply.request.url,
      ...extensions,
    });
}

/** Turns every error into a problem: validation and parser errors keep their 4xx, the rest are 500s. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    if (error instanceof HttpProblem) return sendProblem(reply, error.init);
    if (error.validation) {
      return sendProblem(reply, {
        status: 400,
        title: 'Bad Request',
        type: 'validation',
        detail: error.message,
        extensions: {
          errors: error.validation.map((issue) => ({
            path: issue.instancePath || '/',
            message: issue.message ?? 'is invalid',
          })),
        },
      });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, { status, title: titles[status] ?? 'Client Error', detail: error.message });
    }
    if (status === 503) {
      return sendProblem(reply, {
        status,
        title: titles[503] ?? 'Service Unavailable',
        detail: error.message,
      });
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, { status: 500, title: 'Internal Server Error' });
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      title: 'Not Found',
      detail: `no route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
}

// RFC 9457 problem details: every error a service answers is application/problem+json with a
// stable `type`, from every layer: handlers, validation, body parsing, routing, and the HTTP
// parser itself (malformed requests, oversized headers, timeouts) which answers on the raw socket.
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://chaos-platform.dev/problems/';

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
  /** A short slug, expanded to a stable type URI; defaults to one named for the status. */
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
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const titleFor = (status: number) => titles[status] ?? (status < 500 ? 'Client Error' : 'Server Error');
/** 'Not Found' -> 'not-found': the default type of a status, so no problem goes without one. */
const slugFor = (status: number) => titleFor(status).toLowerCase().replaceAll(' ', '-');

/** Fastify's own errors, by code: the type a client can rely on (the FST_ code never leaves). */
const frameworkTypes: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'content-too-large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-content-length',
  FST_ERR_BAD_URL: 'bad-url',
  FST_ERR_MAX_PARAM_LENGTH: 'uri-too-long',
};

export function problemBody(init: ProblemInit, instance?: string) {
  const { status, title, detail, type, extensions } = init;
  return {
    type: `${TYPE_BASE}${type ?? slugFor(status)}`,
    title,
    status,
    ...(detail === undefined ? {} : { detail }),
    ...(instance === undefined ? {} : { instance }),
    ...extensions,
  };
}

export function sendProblem(reply: FastifyReply, init: ProblemInit): FastifyReply {
  if (init.headers) reply.headers(init.headers);
  return reply.code(init.status).type(PROBLEM_CONTENT_TYPE).send(problemBody(init, reply.request.url));
}

/** The problem for any error a request raised: handlers', validation's, Fastify's. */
function problemFor(error: FastifyError | HttpProblem): ProblemInit {
  if (error instanceof HttpProblem) return error.init;
  if (error.validation) {
    return {
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
    };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const type = frameworkTypes[error.code] ?? slugFor(status);
    return { status, title: titleFor(status), type, detail: error.message };
  }
  return { status: 500, title: 'Internal Server Error', type: 'internal-error' };
}

/** Turns every error into a problem: validation and parser errors keep their 4xx, the rest are 500s. */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpProblem, request, reply) => {
    const problem = problemFor(error);
    // A 503 is an expected answer (overload, an unavailable dependency); any other 5xx is a bug.
    if (problem.status >= 500 && problem.status !== 503) {
      request.log.error({ err: error }, 'unhandled error');
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      title: 'Not Found',
      type: 'not-found',
      detail: `no route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  // Node answers a missing Host itself, with an empty 400 (requireHostHeader): it is turned off in
  // createServiceApp and checked here instead, with the same rule (HTTP/1.1 requires Host).
  app.addHook('onRequest', async (request, reply) => {
    const { httpVersionMajor, httpVersionMinor, headers } = request.raw;
    if (httpVersionMajor === 1 && httpVersionMinor >= 1 && !headers.host) {
      return sendProblem(reply, {
        status: 400,
        title: 'Bad Request',
        type: 'missing-host',
        detail: 'an HTTP/1.1 request needs a Host header',
      });
    }
  });
}

/** Fastify's `frameworkErrors`: bad percent-encoding and over-long path parameters, before routing. */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  sendProblem(reply, problemFor(error));
}

/**
 * Fastify's `clientErrorHandler`, for what Node's HTTP parser refuses before there is a request:
 * malformed request lines and headers, headers too large, a request not finished in time.
 * Like Fastify's default it writes one response on the raw socket and closes it.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  log: FastifyBaseLogger,
  servedBy: () => string,
): void {
  // A reset connection is gone: nothing to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem: ProblemInit =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? {
          status: 408,
          title: titleFor(408),
          type: 'request-timeout',
          detail: 'the request was not sent in time',
        }
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? {
            status: 431,
            title: titleFor(431),
            type: 'headers-too-large',
            detail: 'the request headers are too large',
          }
        : {
            status: 400,
            title: titleFor(400),
            type: 'malformed-request',
            detail: 'the request is not valid HTTP/1.1',
          };
  log.debug({ err: error }, 'client error');
  if (socket.writable) socket.write(rawProblem(problem, servedBy()));
  socket.destroy();
}

/**
 * A problem as a whole HTTP/1.1 response that closes the connection, for a socket no HTTP parser
 * answers on: one the parser gave up on.
 */
function rawProblem(problem: ProblemInit, servedBy: string): string {
  const body = JSON.stringify(problemBody(problem));
  const headers = Object.entries(problem.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nX-Served-By: ${servedBy}\r\n${headers.join('')}` +
    `Connection: close\r\n\r\n${body}`
  );
}

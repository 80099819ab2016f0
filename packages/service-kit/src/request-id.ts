// The request id: the caller's X-Request-Id when it is a sane token, otherwise a fresh UUID.
// It is logged and forwarded to downstreams, so an unchecked one could break the downstream call
// (an oversized header is refused there) and let one client open a breaker for everyone.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Up to 128 visible characters that are safe in a header, a log line and a URL: UUIDs, trace ids. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const isValidRequestId = (value: unknown): value is string =>
  typeof value === 'string' && VALID_REQUEST_ID.test(value);

/** Fastify's genReqId: keeps a valid caller id (so one id follows a request across services). */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return isValidRequestId(given) ? given : randomUUID();
}

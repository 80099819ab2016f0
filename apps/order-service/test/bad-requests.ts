// Test fixture: hostile requests, generated from a fixed seed (the same run every time), and a raw
// HTTP/1.1 client that sends bytes exactly as given, so malformed requests reach the server as is.
import { connect } from 'node:net';

export interface RawReply {
  /** 0 when the connection closed without a status line. */
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `bytes` on a fresh connection and reads until the server closes it (bounded in time).
 * It does not half-close: Node aborts a request whose client ended its side (httpAllowHalfOpen).
 */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no complete answer within ${timeoutMs} ms`)),
    );
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A server that answers and closes before reading everything we sent resets the connection.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      reject(error);
    });
    socket.on('close', () => resolve(parse(Buffer.concat(chunks).toString('latin1'))));
    socket.write(bytes);
  });
}

function parse(text: string): RawReply {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: 0, headers: {}, body: text };
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  let body = text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body };
}

function unchunk(text: string): string {
  let out = '';
  for (let at = 0; at < text.length; ) {
    const eol = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, eol), 16);
    if (!size) break;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return out;
}

/** mulberry32: a small seeded PRNG, so a failure can be replayed exactly. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ServiceShape {
  /** Routes that take a JSON body, each with a valid body to mutate. */
  posts: Array<{ path: string; body: Record<string, unknown> }>;
  /** Routes with one path parameter, written with `:id`. */
  gets: string[];
}

export const shapes: Record<'order' | 'inventory' | 'notification', ServiceShape> = {
  order: {
    posts: [{ path: '/orders', body: { product_id: 'PROD-001', quantity: 1, email: 'fuzz@example.com' } }],
    gets: ['/orders/:id'],
  },
  inventory: {
    posts: [{ path: '/reservations', body: { order_id: 'fuzz-1', product_id: 'PROD-001', quantity: 1 } }],
    gets: ['/inventory/:id', '/reservations/:id'],
  },
  notification: {
    posts: [
      {
        path: '/notifications',
        body: { order_id: 'fuzz-1', email: 'fuzz@example.com', product_id: 'PROD-001', quantity: 1 },
      },
    ],
    gets: ['/notifications/:id'],
  },
};

const badValues: unknown[] = [
  null,
  '',
  -1,
  0,
  1e308,
  1.5,
  '2',
  true,
  [],
  {},
  'x'.repeat(300),
  '<script>alert(1)</script>',
  'PROD\u0000001',
  '../../etc/passwd',
  'a@b',
  'not-an-email',
  '\u202eevil',
  { $gt: '' },
];

const badIds = [
  '%zz',
  '%',
  '%E0%A4%A',
  'x'.repeat(101),
  'x'.repeat(2000),
  '..%2F..%2Fetc',
  '%00',
  '<x>',
  "'; DROP TABLE orders; --",
  '%F0%9F%92%A9',
  ' ',
];

/** One malformed or hostile HTTP/1.1 request for `port`, as bytes. */
export function badRequest(random: () => number, shape: ServiceShape): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const post = pick(shape.posts);
  const headers = (extra: string[]) => ['Host: 127.0.0.1', 'Connection: close', ...extra].join('\r\n');
  const withBody = (body: string, contentType = 'application/json', extra: string[] = []) =>
    `POST ${post.path} HTTP/1.1\r\n${headers([`Content-Type: ${contentType}`, `Content-Length: ${Buffer.byteLength(body)}`, ...extra])}\r\n\r\n${body}`;
  const valid = JSON.stringify(post.body);

  switch (Math.floor(random() * 16)) {
    case 0: // a field with a wrong value
      return withBody(JSON.stringify({ ...post.body, [pick(Object.keys(post.body))]: pick(badValues) }));
    case 1: // truncated JSON
      return withBody(valid.slice(0, Math.floor(random() * valid.length)));
    case 2: // not an object
      return withBody(JSON.stringify(pick([[], 1, 'str', null, true, [post.body]])));
    case 3: // prototype pollution
      return withBody(
        pick([
          `{"__proto__":{"admin":true},${valid.slice(1)}`,
          `{"constructor":{"prototype":{"x":1}},${valid.slice(1)}`,
        ]),
      );
    case 4: // other media types and charsets
      return withBody(
        valid,
        pick([
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
          'text/plain',
          'application/xml',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          '',
        ]),
      );
    case 5: // a body over the limit
      return withBody(JSON.stringify({ ...post.body, pad: 'x'.repeat(20_000) }));
    case 6: // ids that are not ids
      return `GET ${pick(shape.gets).replace(':id', pick(badIds))} HTTP/1.1\r\n${headers([])}\r\n\r\n`;
    case 7: // routes and methods that do not exist
      return `${pick(['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'POST'])} ${pick(['/', '/nowhere', '/healthz', post.path, '/metrics?x=%zz'])} HTTP/1.1\r\n${headers(['Content-Length: 0'])}\r\n\r\n`;
    case 8: // no Host
      return `GET ${pick(['/healthz', post.path, '/nowhere'])} HTTP/1.1\r\nConnection: close\r\n\r\n`;
    case 9: // headers too large
      return `GET /healthz HTTP/1.1\r\n${headers([`X-Big: ${'x'.repeat(20_000 + Math.floor(random() * 20_000))}`])}\r\n\r\n`;
    case 10: // a request line the parser refuses
      return pick([
        'GARBAGE\r\n\r\n',
        'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
        'G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET  HTTP/1.1\r\nHost: x\r\n\r\n',
        `GET /${'\u0001'} HTTP/1.1\r\nHost: x\r\n\r\n`,
        'GET /healthz HTTP/1.1\nHost: x\n\n\u0000',
      ]);
    case 11: // malformed headers
      return `GET /healthz HTTP/1.1\r\n${headers([pick(['NoColonHere', 'Bad Header: x', 'X-Ctl: a\u0001b', ': empty-name'])])}\r\n\r\n`;
    case 12: // lying or conflicting lengths
      return pick([
        `POST ${post.path} HTTP/1.1\r\n${headers(['Content-Type: application/json', 'Content-Length: abc'])}\r\n\r\n${valid}`,
        `POST ${post.path} HTTP/1.1\r\n${headers(['Content-Type: application/json', 'Content-Length: -5'])}\r\n\r\n${valid}`,
        `POST ${post.path} HTTP/1.1\r\n${headers(['Content-Type: application/json', 'Content-Length: 5', 'Transfer-Encoding: chunked'])}\r\n\r\n${valid}`,
        `POST ${post.path} HTTP/1.1\r\n${headers(['Content-Type: application/json', 'Transfer-Encoding: chunked'])}\r\n\r\nzz\r\n${valid}\r\n0\r\n\r\n`,
        `POST ${post.path} HTTP/1.1\r\n${headers(['Content-Type: application/json', 'Content-Length: 1', 'Content-Length: 2'])}\r\n\r\n{}`,
      ]);
    case 13: // hostile request ids and keys
      return withBody(valid, 'application/json', [
        pick([
          `X-Request-Id: ${'r'.repeat(10_000)}`,
          'X-Request-Id: <script>',
          'X-Request-Id: ../../x',
          `Idempotency-Key: ${'k'.repeat(200)}`,
          'Idempotency-Key: has space',
        ]),
      ]);
    case 14: // an empty body with a JSON content type
      return withBody('');
    default: // deep nesting
      return withBody(`${'['.repeat(5000)}${']'.repeat(5000)}`);
  }
}

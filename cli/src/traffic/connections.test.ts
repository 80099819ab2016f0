// Connections against real HTTP servers on 127.0.0.1: one that holds every answer until the test
// lets it go, and others that answer in each of the ways the HTTP/1.1 client must follow.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { headerValue } from './answer-parser.js';
import { Connections, type Exchange } from './connections.js';

let server: Server;
let origin: string;
let sockets = 0;
const held: Array<{ path: string; res: ServerResponse }> = [];

beforeAll(async () => {
  server = createServer((req, res) => held.push({ path: req.url ?? '', res }));
  server.on('connection', () => sockets++);
  origin = await listen(server);
});

afterAll(() => stop(server));

async function listen(on: Server): Promise<string> {
  await new Promise<void>((resolve) => on.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(on.address() as AddressInfo).port}`;
}

async function stop(on: Server) {
  on.closeAllConnections();
  await new Promise((resolve) => on.close(resolve));
}

/** Waits (up to 2 s) until `done()`. */
async function until(done: () => boolean) {
  for (let waited = 0; !done() && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
}

/** What became of an exchange: its answer (status, headers, body) or its error's code. */
interface Outcome {
  path: string;
  status?: number;
  headers?: string;
  body?: string;
  error?: string;
}

/** Exchanges that note how each ended, in the order they ended. */
function exchanges(host: string) {
  const ended: Outcome[] = [];
  const exchange = (path: string, extra: { method?: string; body?: string; keepsBody?: boolean } = {}) => {
    const method = extra.method ?? 'GET';
    const body = extra.body ?? '';
    const outcome: Outcome = { path };
    const chunks: Buffer[] = [];
    const it: Exchange = {
      head: `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n${body ? `content-length: ${Buffer.byteLength(body)}\r\n` : ''}`,
      body,
      bodiless: method === 'HEAD',
      keepsBody: extra.keepsBody ?? true,
      onHead: (status, headers) => Object.assign(outcome, { status, headers }),
      onBody: (buffer, start, end) => chunks.push(Buffer.from(buffer.subarray(start, end))),
      onEnd: () => ended.push({ ...outcome, body: Buffer.concat(chunks).toString() }),
      onError: (error) =>
        ended.push({ ...outcome, error: (error as NodeJS.ErrnoException).code ?? error.message }),
    };
    return it;
  };
  return { ended, exchange };
}

describe('Connections', () => {
  it('opens no more than its budget, queues the rest and sends them oldest first as connections free', async () => {
    const connections = new Connections(origin, 2, 1000, 10_000);
    const { ended, exchange } = exchanges(origin.slice(7));
    for (const path of ['/1', '/2', '/3', '/4', '/5']) connections.send(exchange(path));

    await until(() => held.length === 2);
    expect(held.map((h) => h.path)).toEqual(['/1', '/2']);
    expect(connections.opened).toBe(2);
    const arrived: string[] = [];
    // Answer the oldest held request each time: its connection takes the oldest waiting one.
    while (ended.length < 5 && held.length > 0) {
      expect(held.length).toBeLessThanOrEqual(2);
      const next = held.shift() as (typeof held)[number];
      arrived.push(next.path);
      const before = ended.length;
      next.res.end('ok');
      await until(() => ended.length > before && (held.length > 0 || ended.length === 5));
    }
    expect(arrived).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(ended.map((e) => `${e.path} ${e.status} ${e.body}`)).toEqual(
      ['/1', '/2', '/3', '/4', '/5'].map((path) => `${path} 200 ok`),
    );
    expect(sockets).toBe(2);
    await connections.close();
  });

  it('frees a connection whose request failed, so that a refusing origin does not strand the queue', async () => {
    // A port nothing listens on: every connection attempt is refused.
    const closed = createServer();
    const at = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const connections = new Connections(at, 2, 1000, 10_000);
    const { ended, exchange } = exchanges(at.slice(7));
    for (const path of ['/1', '/2', '/3', '/4', '/5']) connections.send(exchange(path));
    await until(() => ended.length === 5);
    expect(ended.map((e) => e.error)).toEqual(Array(5).fill('ECONNREFUSED'));
    expect(connections.opened).toBe(2);
    await connections.close();
  });
});

describe('Connections closed', () => {
  it('fail what is in flight and what waits, and open nothing more', async () => {
    const connections = new Connections(origin, 1, 1000, 10_000);
    const { ended, exchange } = exchanges(origin.slice(7));
    const before = sockets;
    const arrived = held.length;
    connections.send(exchange('/in-flight'));
    connections.send(exchange('/waiting'));
    await until(() => held.length > arrived);
    await connections.close();
    expect(ended.map((e) => `${e.path} ${e.error}`).sort()).toEqual([
      '/in-flight ECONNRESET',
      '/waiting ECONNRESET',
    ]);
    await new Promise((r) => setTimeout(r, 50));
    expect(sockets - before).toBe(1);
    expect(held.map((h) => h.path)).toContain('/in-flight');
    expect(held.map((h) => h.path)).not.toContain('/waiting');
  });
});

describe('Connections speaking HTTP/1.1', () => {
  let answer: (req: IncomingMessage, res: ServerResponse, body: string) => void;
  let api: Server;
  let at: string;
  /** Sockets the server accepted, in order, and the requests each carried. */
  const accepted: Array<{ socket: Socket; requests: number }> = [];

  beforeAll(async () => {
    api = createServer((req, res) => {
      const entry = accepted.find((a) => a.socket === req.socket);
      if (entry) entry.requests++;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => answer(req, res, body));
    });
    api.on('connection', (socket: Socket) => accepted.push({ socket, requests: 0 }));
    at = await listen(api);
  });

  afterAll(() => stop(api));

  /** Sends the exchanges one after the other on a budget of one connection, and waits for them all. */
  async function sequence(
    list: Array<Parameters<ReturnType<typeof exchanges>['exchange']>>,
    options: {
      maxRequests?: number;
      timeoutMs?: number;
      idleMs?: number;
      between?: () => Promise<void>;
    } = {},
  ) {
    accepted.length = 0;
    const connections = new Connections(
      at,
      1,
      options.maxRequests ?? 1000,
      options.timeoutMs ?? 10_000,
      options.idleMs,
    );
    const { ended, exchange } = exchanges(at.slice(7));
    for (const [i, args] of list.entries()) {
      connections.send(exchange(...args));
      await until(() => ended.length > i);
      await options.between?.();
    }
    await connections.close();
    return ended;
  }

  it('reads bodies of a known length and chunked ones, and sends a body with its length', async () => {
    answer = (req, res, body) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'x-served-by': 'replica-1' });
        res.write('first ');
        setTimeout(() => res.end(`and last, for ${body}`), 20);
      } else {
        res.writeHead(201, { 'content-length': 5 }).end('sized');
      }
    };
    const ended = await sequence([
      ['/chunked', { method: 'POST', body: 'ünïcode' }],
      ['/sized'],
      ['/chunked', { method: 'PUT', body: 'x', keepsBody: false }],
    ]);
    expect(ended.map(({ path, status, body, error }) => ({ path, status, body, error }))).toEqual([
      { path: '/chunked', status: 200, body: 'first and last, for ünïcode', error: undefined },
      { path: '/sized', status: 201, body: 'sized', error: undefined },
      // Not kept: its body was parsed past, not handed over.
      { path: '/chunked', status: 200, body: '', error: undefined },
    ]);
    const headers = ended[0]?.headers ?? '';
    expect(headerValue(headers, 'x-served-by')).toBe('replica-1');
    expect(headers).toContain('Transfer-Encoding: chunked\r\n');
    // All on one keep-alive socket.
    expect(accepted.map((a) => a.requests)).toEqual([3]);
  });

  it('reads no body in the answer to a HEAD, whatever its Content-Length says', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-length': 1000 }).end();
    const ended = await sequence([
      ['/', { method: 'HEAD' }],
      ['/', { method: 'HEAD' }],
    ]);
    expect(ended.map((e) => `${e.status} ${e.error}`)).toEqual(['200 undefined', '200 undefined']);
    expect(accepted.map((a) => a.requests)).toEqual([2]);
  });

  it('opens a new socket after an answer that says Connection: close, and after its own last request', async () => {
    answer = (req, res) => {
      if (req.url === '/close') res.setHeader('connection', 'close');
      res.end(req.headers.connection ?? 'keep-alive');
    };
    const closing = await sequence([['/close'], ['/close'], ['/a']]);
    expect(closing.map((e) => `${e.status} ${e.body}`)).toEqual([
      '200 keep-alive',
      '200 keep-alive',
      '200 keep-alive',
    ]);
    expect(accepted.map((a) => a.requests)).toEqual([1, 1, 1]);

    // Two requests per socket: the second says so, and the third goes on a new socket.
    const limited = await sequence([['/a'], ['/b'], ['/c']], { maxRequests: 2 });
    expect(limited.map((e) => e.body)).toEqual(['keep-alive', 'close', 'keep-alive']);
    expect(accepted.map((a) => a.requests)).toEqual([2, 1]);
  });

  it('reads an answer that has no length to the close of its socket', async () => {
    answer = (_req, res) => {
      // HTTP/1.0 style: neither Content-Length nor chunked; the body ends with the socket.
      res.useChunkedEncodingByDefault = false;
      res.shouldKeepAlive = false;
      res.writeHead(200);
      res.end('until the end');
    };
    const ended = await sequence([['/'], ['/']]);
    expect(ended.map((e) => `${e.status} ${e.body} ${e.error}`)).toEqual([
      '200 until the end undefined',
      '200 until the end undefined',
    ]);
    expect(accepted).toHaveLength(2);
  });

  it('sends the next request on a new socket when the server closed the idle one, losing none', async () => {
    answer = (_req, res) => res.end('ok');
    const ended = await sequence([['/1'], ['/2'], ['/3']], {
      // As a server's keep-alive timeout does: it closes each socket once its answer is out.
      between: async () => {
        for (const { socket } of accepted) socket.end();
        await until(() => accepted.every(({ socket }) => socket.closed));
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    expect(ended.map((e) => `${e.path} ${e.status} ${e.error}`)).toEqual([
      '/1 200 undefined',
      '/2 200 undefined',
      '/3 200 undefined',
    ]);
    expect(accepted.map((a) => a.requests)).toEqual([1, 1, 1]);
  });

  it('does not reuse a socket left idle longer than a server may keep it', async () => {
    answer = (_req, res) => res.end('ok');
    const ended = await sequence([['/1'], ['/2'], ['/3']], {
      idleMs: 100,
      between: async () => {
        // The second request follows at once, the third after longer than idleMs.
        if (accepted[0]?.requests === 2) await new Promise((r) => setTimeout(r, 200));
      },
    });
    expect(ended.map((e) => e.status)).toEqual([200, 200, 200]);
    expect(accepted.map((a) => a.requests)).toEqual([2, 1]);
  });

  it('fails a request whose socket dies before its answer, and one whose answer is cut off, then goes on', async () => {
    answer = (req, res) => {
      if (req.url === '/die') req.socket.destroy();
      else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': 100 });
        res.write('partial', () => req.socket.destroy());
      } else res.end('ok');
    };
    const ended = await sequence([['/die'], ['/cut'], ['/fine']]);
    expect(ended.map((e) => `${e.path} ${e.status} ${e.error}`)).toEqual([
      '/die undefined ECONNRESET',
      // Its head came: the status stands, the body is lost.
      '/cut 200 ECONNRESET',
      '/fine 200 undefined',
    ]);
  });

  it('fails a request that gets no answer within its timeout, and frees its connection', async () => {
    const hung: ServerResponse[] = [];
    answer = (req, res) => (req.url === '/hang' ? hung.push(res) : res.end('ok'));
    const started = performance.now();
    const ended = await sequence([['/hang'], ['/fine']], { timeoutMs: 200 });
    const took = performance.now() - started;
    expect(ended.map((e) => `${e.path} ${e.status} ${e.error}`)).toEqual([
      '/hang undefined ETIMEDOUT',
      '/fine 200 undefined',
    ]);
    // Not before its time; no later than the sweep's tenth of it (and a busy machine's slack).
    expect(took).toBeGreaterThanOrEqual(199);
    expect(took).toBeLessThan(1000);
    for (const res of hung) res.destroy();
  });
});

describe('Connections to an https:// origin', () => {
  // A self-signed certificate for 127.0.0.1 (valid until 2126), made for this test alone.
  const CERT = `-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUfE4gqjg7KvoshEUWlBIXAQcgmnIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwNjIwMDYxMVoYDzIxMjYxMTEy
MjAwNjExWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATlonbJY3YFEnqRQzVXwZupzB3torezF+Dp36U4BsYWJZuMd/49SgLW
Tm8k03fgSblUfnOzqlIUl+fr9HCc4C6Ho2QwYjAdBgNVHQ4EFgQUJPOpcQHUWFFO
8/6Xov8Si97UGiswHwYDVR0jBBgwFoAUJPOpcQHUWFFO8/6Xov8Si97UGiswDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IHznAVfr2BceaTu3aYhNKlMq8QHwubLBVPfOYTTDxfWMAiBdNjDicKyTDEQdk92t
hua6IxuvTCtWmyyqa2Z8OK72hA==
-----END CERTIFICATE-----`;
  const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgulJ8XYr76ACSezKJ
0HAdCJTrF016pRt4cKr2S6EE15KhRANCAATlonbJY3YFEnqRQzVXwZupzB3torez
F+Dp36U4BsYWJZuMd/49SgLWTm8k03fgSblUfnOzqlIUl+fr9HCc4C6H
-----END PRIVATE KEY-----`;

  it('speak TLS, checking the certificate as undici did', async () => {
    const secure = createHttpsServer({ cert: CERT, key: KEY }, (_req, res) => res.end('secure'));
    const at = (await listen(secure as unknown as Server)).replace('http:', 'https:');
    const defaults = getCACertificates('default');
    try {
      const untrusted = new Connections(at, 1, 1000, 10_000);
      const first = exchanges(at.slice(8));
      untrusted.send(first.exchange('/'));
      await until(() => first.ended.length === 1);
      await untrusted.close();
      expect(first.ended[0]?.error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

      setDefaultCACertificates([...defaults, CERT]);
      const trusted = new Connections(at, 1, 1000, 10_000);
      const second = exchanges(at.slice(8));
      trusted.send(second.exchange('/'));
      await until(() => second.ended.length === 1);
      await trusted.close();
      expect(second.ended.map((e) => `${e.status} ${e.body}`)).toEqual(['200 secure']);
    } finally {
      setDefaultCACertificates(defaults);
      await stop(secure as unknown as Server);
    }
  });
});

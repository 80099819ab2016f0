import { Agent, createServer, request, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { gateConnections } from './connection-gate.js';

const servers: Array<Server | NetServer> = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

const listen = async <T extends Server | NetServer>(server: T): Promise<number> => {
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

/** An HTTP server behind the gate that counts the requests it parsed. */
function gated(opts: { maxConnections?: number; refusal?: () => string | undefined }) {
  const parsed: string[] = [];
  const server = createServer((req, res) => {
    parsed.push(req.url ?? '');
    res.end('ok');
  });
  gateConnections(server, {
    maxConnections: opts.maxConnections ?? 100,
    refusal: opts.refusal ?? (() => undefined),
    retryAfterSeconds: 2,
    exempt: new Set(['/healthz']),
    servedBy: () => 'replica-0',
  });
  return { server, parsed };
}

const get = (port: number, path = '/') =>
  new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.once('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', fail);
    req.end();
  });

/** A raw connection that stays open: resolves once the server has it (or closed it). */
const hold = (port: number) =>
  new Promise<Socket>((done) => {
    const socket = connect(port, '127.0.0.1', () => setTimeout(() => done(socket), 50));
    socket.on('error', () => {});
  });

describe('the connection gate', () => {
  it('answers 503 problem+json with Retry-After, before the framework, while the process is past its budget', async () => {
    let refusal: string | undefined = 'queueFull';
    const { server, parsed } = gated({ refusal: () => refusal });
    const port = await listen(server);
    const refused = await get(port, '/orders');
    expect(refused.status).toBe(503);
    expect(refused.headers).toMatchObject({
      'content-type': 'application/problem+json',
      'retry-after': '2',
      'x-served-by': 'replica-0',
    });
    expect(JSON.parse(refused.body)).toMatchObject({
      status: 503,
      detail: expect.stringContaining('queueFull'),
    });
    expect(parsed).toEqual([]);
    refusal = undefined;
    expect((await get(port, '/orders')).status).toBe(200);
    expect(parsed).toEqual(['/orders']);
  });

  it('sheds a request on a kept-alive connection before the framework, then holds the connection unread', async () => {
    let refusal: string | undefined;
    const { server, parsed } = gated({ refusal: () => refusal });
    const port = await listen(server);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (path: string) =>
      new Promise<{ status: number; connection: unknown }>((done, fail) => {
        request({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.once('end', () => done({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        })
          .once('error', fail)
          .end();
      });
    try {
      expect(await send('/orders')).toEqual({ status: 200, connection: 'keep-alive' });
      refusal = 'eventLoopDelay';
      expect(await send('/healthz')).toEqual({ status: 200, connection: 'keep-alive' });
      expect(await send('/orders')).toEqual({ status: 503, connection: 'keep-alive' });
      expect(parsed).toEqual(['/orders', '/healthz']);
      // The connection is kept, but not read for at least half the Retry-After (2 s): a client that
      // retries at once is not heard sooner, though the process would now take its request.
      refusal = undefined;
      const retried = send('/orders');
      const early = await Promise.race([retried, new Promise((r) => setTimeout(() => r('unanswered'), 500))]);
      expect(early).toBe('unanswered');
      expect(await retried).toEqual({ status: 200, connection: 'keep-alive' });
      expect(parsed).toEqual(['/orders', '/healthz', '/orders']);
    } finally {
      agent.destroy();
    }
  });

  it('counts connections handed over by another server against the limit, as accepted ones', async () => {
    const { server } = gated({ maxConnections: 2 });
    const port = await listen(server);
    // As chaosctl's supervisor hands a caller's connection to a replica (service-kit's supervised.ts).
    const front = createNetServer((socket) => server.emit('connection', socket));
    const frontPort = await listen(front);
    const held = [await hold(frontPort), await hold(port)];
    const third = await hold(frontPort);
    // Closed by the gate on arrival (hold waits 50 ms after connecting).
    expect(third.destroyed).toBe(true);
    held[0]?.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await get(frontPort)).status).toBe(200);
    for (const socket of held) socket.destroy();
  });
});

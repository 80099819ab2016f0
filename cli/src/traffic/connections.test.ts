// Connections against a real HTTP server on 127.0.0.1 that holds every answer until the test lets it go.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Dispatcher } from 'undici';
import { Connections, type Sendable } from './connections.js';

let server: Server;
let origin: string;
let sockets = 0;
const held: Array<{ path: string; res: ServerResponse }> = [];

beforeAll(async () => {
  server = createServer((req, res) => held.push({ path: req.url ?? '', res }));
  server.on('connection', () => sockets++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Waits (up to 2 s) until `done()`. */
async function until(done: () => boolean) {
  for (let waited = 0; !done() && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
}

/** Requests that note how each ended (its path, or its error's code) and free their connection. */
function requests(connections: Connections) {
  const answered: string[] = [];
  const request = (path: string): Sendable => {
    const sendable: Sendable = {
      client: undefined,
      options: { path, method: 'GET' },
      handler: {
        onRequestStart: () => {},
        onResponseStart: () => {},
        onResponseData: () => {},
        onResponseEnd: () => {
          answered.push(path);
          connections.release(sendable);
        },
        onResponseError: (_: Dispatcher.DispatchController, error: Error) => {
          answered.push((error as NodeJS.ErrnoException).code ?? error.message);
          connections.release(sendable);
        },
      },
    };
    return sendable;
  };
  return { answered, request };
}

describe('Connections', () => {
  it('opens no more than its budget, queues the rest and sends them oldest first as connections free', async () => {
    const connections = new Connections(origin, 2, 1000);
    const { answered, request } = requests(connections);
    for (const path of ['/1', '/2', '/3', '/4', '/5']) connections.send(request(path));

    await until(() => held.length === 2);
    expect(held.map((h) => h.path)).toEqual(['/1', '/2']);
    expect(connections.opened).toBe(2);
    const arrived: string[] = [];
    // Answer the oldest held request each time: its connection takes the oldest waiting one.
    while (answered.length < 5 && held.length > 0) {
      expect(held.length).toBeLessThanOrEqual(2);
      const next = held.shift() as (typeof held)[number];
      arrived.push(next.path);
      const before = answered.length;
      next.res.end('ok');
      await until(() => answered.length > before && (held.length > 0 || answered.length === 5));
    }
    expect(arrived).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(answered).toEqual(['/1', '/2', '/3', '/4', '/5']);
    expect(sockets).toBe(2);
    await connections.close();
  });

  it('frees a connection whose request failed, so that a refusing origin does not strand the queue', async () => {
    // A port nothing listens on: every connection attempt is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const connections = new Connections(`http://127.0.0.1:${port}`, 2, 1000);
    const { answered, request } = requests(connections);
    for (const path of ['/1', '/2', '/3', '/4', '/5']) connections.send(request(path));
    await until(() => answered.length === 5);
    expect(answered).toEqual(Array(5).fill('ECONNREFUSED'));
    expect(connections.opened).toBe(2);
    await connections.close();
  });
});

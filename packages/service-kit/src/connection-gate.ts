// Connections and requests, before the framework sees them. Every connection counts against
// MAX_CONNECTIONS, those chaosctl's supervisor hands over too (they never pass through accept(),
// where Node's own maxConnections applies). While the process is past its budget, a new connection
// is answered 503 and closed unread, and a request on a kept-alive one gets a canned 503 before any
// hook, route or serializer runs, and its connection closed: running the framework only to shed a
// request is the work a flood drowns a process in, and a flood's kept-alive connections, always
// ready, would be read before any newcomer's (measured: scripts/bench/flood.mjs). Probes have a listener of their own (server.ts), which this never touches;
// on this one their paths pass.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, type ProblemInit, problemBody, rawProblem } from './problem.js';

export interface ConnectionGateOptions {
  maxConnections: number;
  /** Why new connections and requests are refused now (the process is past its budget), or undefined. */
  refusal: () => string | undefined;
  /** Paths never refused here (the probes, the scrape). */
  exempt: ReadonlySet<string>;
  retryAfterSeconds: number;
  servedBy: () => string;
}

/** A refused connection's answer may take this long to be read before the socket is destroyed. */
const LINGER_MS = 1000;

type ConnectionListener = (socket: Socket) => void;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function gateConnections(server: Server, opts: ConnectionGateOptions): void {
  // The HTTP server's own listener (it attaches the parser) runs only for connections let in.
  const listeners = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= opts.maxConnections) {
      socket.destroy();
      return;
    }
    const reason = opts.refusal();
    if (reason !== undefined) {
      refuse(socket, reason, opts);
      return;
    }
    open++;
    socket.once('close', () => open--);
    for (const listener of listeners) listener.call(server, socket);
  });

  const handlers = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const reason = opts.exempt.has(req.url?.split('?')[0] ?? '') ? undefined : opts.refusal();
    if (reason === undefined) {
      for (const handler of handlers) handler.call(server, req, res);
      return;
    }
    const problem = shedProblem(reason, opts.retryAfterSeconds);
    const body = JSON.stringify(problemBody(problem, req.url));
    req.resume();
    res.writeHead(503, {
      ...problem.headers,
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      'x-served-by': opts.servedBy(),
      connection: 'close',
    });
    res.end(body);
  });
}

/** The answer to what is shed here: the admission's 503 (load-shedding.ts), said before parsing. */
const shedProblem = (reason: string, retryAfterSeconds: number): ProblemInit => ({
  status: 503,
  title: 'Service Unavailable',
  type: 'overloaded',
  detail: `shedding load: ${reason}; retry later`,
  headers: { 'retry-after': String(retryAfterSeconds) },
});

function refuse(socket: Socket, reason: string, opts: ConnectionGateOptions): void {
  socket.on('error', () => {});
  // Read and dropped, not parsed: closing with unread bytes would reset the answer away.
  socket.resume();
  socket.end(rawProblem(shedProblem(reason, opts.retryAfterSeconds), opts.servedBy()));
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

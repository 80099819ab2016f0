// Connections and requests, before the framework sees them. Every connection counts against
// MAX_CONNECTIONS, those chaosctl's supervisor hands over too (they never pass through accept(),
// where Node's own maxConnections applies). While the process is past its budget, a request gets a
// canned 503 before any hook, route or serializer runs (running the framework only to shed it is
// the work a flood drowns a process in), and its connection is kept but not read for about the
// Retry-After: a client that retries at once is not heard before then. Closing it instead made a
// flood reconnect (accept, a socket, a parser for every request) and answering at once let it send
// again at once; either way every event-loop turn went through the whole flood, and an admitted
// request, which needs several turns, took seconds (measured: scripts/bench/flood.mjs). Probes have
// a listener of their own (server.ts), which this never touches; on this one their paths pass.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, type ProblemInit, problemBody } from './problem.js';

export interface ConnectionGateOptions {
  maxConnections: number;
  /** Why requests are refused now (the process is past its budget), or undefined. */
  refusal: () => string | undefined;
  /** Paths never refused here (the probes, the scrape). */
  exempt: ReadonlySet<string>;
  retryAfterSeconds: number;
  servedBy: () => string;
}

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
    });
    res.end(body);
    holdBack(req, res, opts.retryAfterSeconds);
  });
}

/** The answer to what is shed here: the admission's 503 (load-shedding.ts), said before the framework. */
const shedProblem = (reason: string, retryAfterSeconds: number): ProblemInit => ({
  status: 503,
  title: 'Service Unavailable',
  type: 'overloaded',
  detail: `shedding load: ${reason}; retry later`,
  headers: { 'retry-after': String(retryAfterSeconds) },
});

/**
 * Stops reading the connection once the shed request's body is read and its answer written, for
 * Retry-After (spread over half to one and a half of it, so that a flood shed at once is not heard
 * again at once). Pausing earlier would not hold: reading the body resumes the socket.
 */
function holdBack(req: IncomingMessage, res: ServerResponse, retryAfterSeconds: number): void {
  const socket = req.socket;
  let pending = 2;
  const pause = () => {
    if (--pending > 0) return;
    socket.pause();
    setTimeout(() => socket.resume(), retryAfterSeconds * 1000 * (0.5 + Math.random())).unref();
  };
  req.once('end', pause);
  res.once('finish', pause);
}

// The local network delay, carried out by chaosctl's local platform and never by a service: while a
// delay is in force in front of a service, the supervisor hands that service's new connections to
// this relay instead of a replica. It serves them as HTTP and forwards each request latency ±
// jitter late to a ready replica's own port, the answer at once, so callers see each round trip
// late while probes and Prometheus, on the replica's port, do not. A request whose caller hung up
// meanwhile is never forwarded: it never reaches the service. When the delay ends the relay lets
// its connections go (idle ones at once, busy ones after their answer): callers reconnect to the
// replicas.
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Delay {
  latencyMs: number;
  jitterMs: number;
}

export class DelayRelay {
  private readonly server = createServer((req, res) => this.forward(req, res));
  private readonly agent = new Agent({ keepAlive: true });
  private ended = false;

  constructor(
    private readonly delay: Delay,
    /** The own port of a ready replica of the service, or undefined when none is ready. */
    private readonly replicaPort: () => number | undefined,
  ) {}

  /** Serves a caller's connection (paused on accept, unread) through the delay. */
  relay(caller: Socket): void {
    this.server.emit('connection', caller);
    caller.resume();
  }

  /** The delay ended: its connections go, so that their callers reconnect to the replicas. */
  end(): void {
    this.ended = true;
    this.server.closeIdleConnections();
    this.agent.destroy();
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const { latencyMs, jitterMs } = this.delay;
    const wait = this.ended ? 0 : Math.max(0, latencyMs + (Math.random() * 2 - 1) * jitterMs);
    const due = setTimeout(() => {
      const port = this.replicaPort();
      if (port === undefined) {
        res.writeHead(503, { 'content-type': 'application/problem+json', connection: 'close' });
        return void res.end(JSON.stringify({ title: 'no ready replica', status: 503 }));
      }
      const upstream = request(
        {
          host: '127.0.0.1',
          port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: this.agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    }, wait);
    // A caller that hangs up before its request is forwarded: the service never sees it.
    res.once('close', () => clearTimeout(due));
    // Busy when the delay ended: the connection goes after its answer.
    res.once('finish', () => {
      if (this.ended) req.socket.end();
    });
  }
}

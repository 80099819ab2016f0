// Keep-alive connections to one origin, each carrying one request at a time, up to a fixed budget.
// A free connection is popped off a stack (an undici Pool scanned all of them for one, which was
// several percent of the generator's CPU at 12,000 requests/s), and a request due while all of the
// budget is busy waits in a queue, oldest first.
import { Connection, type ConnectionPool, type Endpoint, type Exchange, IDLE_MS } from './http-connection.js';

export type { Exchange } from './http-connection.js';

export class Connections implements ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly connections: Connection[] = [];
  /** Requests due while every connection of the budget was busy, oldest first. */
  private waiting: Array<Exchange | undefined> = [];
  private head = 0;
  private readonly endpoint: Endpoint;
  /** Fails the exchanges that waited timeoutMs without a byte: one timer, not one per request. */
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    /** http://host:port or https://host:port (a path, if any, is the caller's to send). */
    origin: string,
    private readonly budget: number,
    /** Requests per connection before it is closed and opened anew. */
    private readonly maxRequestsPerConnection: number,
    /** How long an exchange may go without a byte of its answer (its socket connecting included). */
    private readonly timeoutMs: number,
    /** A connection idle this long opens a new socket for its next request. */
    private readonly idleMs = IDLE_MS,
  ) {
    const url = new URL(origin);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:')
      throw new RangeError(`${origin} is not an http:// or https:// origin`);
    this.endpoint = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || (secure ? 443 : 80)),
      secure,
      readBuffer: Buffer.allocUnsafe(65_536),
    };
  }

  /** Connections opened so far (never more than the budget). */
  get opened(): number {
    return this.connections.length;
  }

  send(exchange: Exchange): void {
    let connection = this.idle.pop();
    if (connection === undefined && this.connections.length < this.budget) {
      connection = new Connection(this.endpoint, this.maxRequestsPerConnection, this.idleMs, this);
      this.connections.push(connection);
      this.sweeper ??= this.sweep();
    }
    if (connection === undefined) this.waiting.push(exchange);
    else connection.send(exchange);
  }

  /** A connection's exchange ended: it takes the oldest waiting request, if any. */
  freed(connection: Connection): void {
    const next = this.waiting[this.head];
    if (next === undefined) {
      this.idle.push(connection);
      return;
    }
    this.waiting[this.head++] = undefined;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
    connection.send(next);
  }

  /** Closes every connection; what is still in flight or waiting fails (a stopped generator has none). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    const waiting = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    // The queue emptied first: a connection freed by a failing exchange takes none of it.
    const closed = Promise.all(this.connections.map((connection) => connection.close()));
    for (const exchange of waiting)
      exchange?.onError(Object.assign(new Error('the connections were closed'), { code: 'ECONNRESET' }));
    await closed;
  }

  /**
   * A timeout fires within a tenth of itself late (10 ms at least): undici's own timers were as
   * coarse, and a precise timer per request cost more than the rest of the request.
   */
  private sweep(): NodeJS.Timeout {
    const period = Math.min(1000, Math.max(10, this.timeoutMs / 10));
    const timer = setInterval(() => {
      const now = performance.now();
      for (const connection of this.connections) connection.expire(now, this.timeoutMs);
    }, period);
    // A generator stopped without close() must not keep the process alive; its sockets do while busy.
    timer.unref();
    return timer;
  }
}

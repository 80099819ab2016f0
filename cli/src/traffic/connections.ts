// Keep-alive connections to one origin, each an undici Client carrying one request at a time, up to
// a fixed budget. An undici Pool does the same, but finds a free connection by scanning all of them
// and relays every connection's 'drain' event: at 12,000 requests/s with a hundred connections busy
// that was several percent of the generator's CPU. Here a free connection is popped off a stack.
import { Client, type Dispatcher } from 'undici';

/** A request that can be sent on any of the origin's connections. */
export interface Sendable {
  readonly options: Dispatcher.DispatchOptions;
  readonly handler: Dispatcher.DispatchHandler;
  /** The connection carrying it, from send() until it is released. */
  client: Client | undefined;
}

export class Connections {
  private readonly idle: Client[] = [];
  private readonly clients: Client[] = [];
  /** Requests due while every connection of the budget was busy, oldest first. */
  private waiting: Array<Sendable | undefined> = [];
  private head = 0;

  constructor(
    private readonly origin: string,
    private readonly budget: number,
    /** Requests per connection before it is closed and opened anew (undici's maxRequestsPerClient). */
    private readonly maxRequestsPerClient: number,
  ) {}

  /** Connections opened so far (never more than the budget). */
  get opened(): number {
    return this.clients.length;
  }

  send(request: Sendable): void {
    let client = this.idle.pop();
    if (client === undefined && this.clients.length < this.budget) {
      client = new Client(this.origin, { pipelining: 1, maxRequestsPerClient: this.maxRequestsPerClient });
      this.clients.push(client);
    }
    if (client === undefined) {
      this.waiting.push(request);
      return;
    }
    request.client = client;
    client.dispatch(request.options, request.handler);
  }

  /** The request's answer ended (or failed): its connection takes the oldest waiting one, if any. */
  release(request: Sendable): void {
    const client = request.client as Client;
    request.client = undefined;
    const next = this.waiting[this.head];
    if (next === undefined) {
      this.idle.push(client);
      return;
    }
    this.waiting[this.head++] = undefined;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
    next.client = client;
    // Not from inside the callback that released it: undici's client, failing its queue after a
    // refused connection, asserts on a request dispatched to it meanwhile (connections.test.ts).
    queueMicrotask(() => client.dispatch(next.options, next.handler));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
  }
}

// One keep-alive HTTP/1.1 connection carrying one request at a time: a plain net.Socket (a TLS one
// for https://), each request written as one string, each answer read by an AnswerParser.
// undici's Client did the same through a general request machinery (a Request object, header
// validation, its own timers and events) that cost the generator about a third more CPU per request
// than autocannon; this is the part of it the generator uses.
import { connect, isIP, type Socket } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { AnswerParser } from './answer-parser.js';

/** One request and what becomes of its answer; a Connection calls exactly one of onEnd and onError. */
export interface Exchange {
  /** The request line and headers, each line ending in CRLF, without the blank line that ends them. */
  readonly head: string;
  /** The body ('' for none), written as UTF-8 (the head says its length). */
  readonly body: string;
  /** A HEAD request: its answer has no body, whatever its Content-Length says. */
  readonly bodiless: boolean;
  /** onBody gets the answer's body; otherwise it is parsed past and dropped. */
  readonly keepsBody: boolean;
  /** The answer's status and header lines as they came (answer-parser.ts reads values from them). */
  onHead(status: number, headers: string): void;
  /** A piece of the body, buffer[start, end), valid during the call only (the read buffer is reused). */
  onBody(buffer: Buffer, start: number, end: number): void;
  /** The answer arrived whole. */
  onEnd(): void;
  /** No answer, or not all of it: refused, reset, closed, timed out or unparsable. */
  onError(error: Error): void;
}

/** Where a connection connects. */
export interface Endpoint {
  host: string;
  port: number;
  /** https: TLS, the server's certificate checked as undici and fetch() check it. */
  secure: boolean;
  /**
   * What sockets read into, shared: each read is parsed before the next (one thread), so no socket
   * allocates a Buffer nor runs a stream's machinery per read.
   */
  readBuffer: Buffer;
}

/** What a connection tells its origin's pool. */
export interface ConnectionPool {
  /** Its exchange ended (before the exchange hears of it): it may carry the next one. */
  freed(connection: Connection): void;
}

/**
 * An idle socket is not reused after this long (undici's keepAliveTimeout, under Node's own server
 * default of 5 s): the server may be closing it just as a request is written on it, and that request
 * would then be lost. A new socket costs less than a lost request.
 */
export const IDLE_MS = 4000;

/** An error with a code, as Node's socket errors have (ECONNREFUSED, ECONNRESET...). */
function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class Connection {
  /** The exchange in flight, from send() until its end. */
  current: Exchange | undefined;
  private socket: Socket | undefined;
  private parser: AnswerParser | undefined;
  /** Requests sent on the current socket. */
  private sent = 0;
  /** performance.now() of the last sign of life: a request sent, bytes read, or the socket freed. */
  private activeAt = 0;

  constructor(
    private readonly endpoint: Endpoint,
    /** Requests per socket: the last one says Connection: close and the socket is opened anew. */
    private readonly maxRequests: number,
    /** A socket idle this long is not reused (IDLE_MS). */
    private readonly idleMs: number,
    private readonly pool: ConnectionPool,
  ) {}

  send(exchange: Exchange): void {
    const now = performance.now();
    // A socket Node destroyed (an error whose event is still to come) cannot carry it either.
    if (this.socket !== undefined && (now - this.activeAt > this.idleMs || this.socket.destroyed))
      this.drop();
    this.current = exchange;
    this.activeAt = now;
    const socket = this.socket ?? this.open();
    const last = ++this.sent >= this.maxRequests;
    socket.write(exchange.head + (last ? 'connection: close\r\n\r\n' : '\r\n') + exchange.body);
  }

  /** Fails the exchange in flight if nothing came for timeoutMs. */
  expire(now: number, timeoutMs: number): void {
    if (this.current !== undefined && now - this.activeAt >= timeoutMs)
      this.fail(failure(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT'));
  }

  /** Closes the socket; an exchange still in flight fails. */
  close(): Promise<void> {
    const socket = this.socket;
    if (this.current !== undefined) this.fail(failure('the connection was closed', 'ECONNRESET'));
    this.drop();
    if (socket === undefined || socket.closed) return Promise.resolve();
    return new Promise((resolve) => socket.once('close', () => resolve()));
  }

  private open(): Socket {
    const { host, port, secure, readBuffer } = this.endpoint;
    // Callbacks of this socket's parser only: a request sent after its socket was dropped goes on a
    // new socket and parser, and whatever the old parser still reads is no answer of it.
    const parser: AnswerParser = new AnswerParser({
      onHead: (status, headers) => {
        const exchange = this.current;
        if (parser !== this.parser || exchange === undefined) return false;
        exchange.onHead(status, headers);
        return exchange.bodiless;
      },
      onBody: (buffer, start, end) => {
        if (parser === this.parser && this.current?.keepsBody) this.current.onBody(buffer, start, end);
      },
      onComplete: () => {
        if (parser === this.parser && this.current !== undefined) this.complete(parser);
      },
    });
    const onread = { buffer: readBuffer, callback: (length: number) => this.read(socket, parser, length) };
    const socket: Socket = secure
      ? // tls.connect takes onread as net.connect does (Node's documentation), @types/node lacks it.
        connectTls({
          host,
          port,
          servername: isIP(host) ? undefined : host,
          ALPNProtocols: ['http/1.1'],
          onread,
        } as ConnectionOptions)
      : connect({ host, port, onread });
    socket.setNoDelay(true);
    this.socket = socket;
    this.parser = parser;
    this.sent = 0;
    // The server closed its side: an answer that runs until the close ends there; one that has not
    // ended fails. Node's own 'end' handling then closes ours.
    socket.on('end', () => this.lost(socket, 'the server closed the connection'));
    socket.on('error', (error) => this.lost(socket, error));
    socket.on('close', () => this.lost(socket, 'the connection closed'));
    return socket;
  }

  /** Parses what a socket read; true: it reads on (Node's onread callback). */
  private read(socket: Socket, parser: AnswerParser, length: number): boolean {
    if (socket !== this.socket) return true;
    if (this.current === undefined) {
      // Bytes nobody asked for (a 408 on an idle socket): the socket is no longer in step.
      this.drop();
      return true;
    }
    this.activeAt = performance.now();
    const error = parser.execute(this.endpoint.readBuffer, 0, length);
    if (error !== undefined && socket === this.socket) this.fail(error);
    return true;
  }

  private lost(socket: Socket, error: Error | string): void {
    if (socket !== this.socket) return;
    if (this.current === undefined) {
      this.drop();
      return;
    }
    // An answer without a length ends with its socket: the parser completes it here (and the
    // completion drops this socket).
    this.parser?.finish();
    if (socket === this.socket) this.fail(typeof error === 'string' ? failure(error, 'ECONNRESET') : error);
  }

  /** The answer arrived whole: the connection is free, and its socket kept if the answer allows. */
  private complete(parser: AnswerParser): void {
    const exchange = this.current as Exchange;
    this.current = undefined;
    // activeAt stays the answer's last read: the socket is idle since.
    if (!parser.keepAlive || this.sent >= this.maxRequests) this.drop();
    this.pool.freed(this);
    exchange.onEnd();
  }

  private fail(error: Error): void {
    const exchange = this.current;
    this.drop();
    if (exchange === undefined) return;
    this.current = undefined;
    this.pool.freed(this);
    exchange.onError(error);
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.parser = undefined;
    socket?.destroy();
  }
}

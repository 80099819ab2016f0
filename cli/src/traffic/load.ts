// Open-model load: requests leave on a fixed schedule whatever the service does, and latency is
// counted from when a request was due, not when it left, so a stalled service cannot hide its
// stall by slowing the sender (no coordinated omission). The schedule and every latency use the
// monotonic high-resolution clock (performance.now); request i is due at start + i/rps and leaves
// as soon as the event loop gets to it at or after that instant, never before.

//
// Per request it costs one Sample, one Flight (the exchange its connection carries, reused by its
// retries) and the request's text: no promise, closure or stream, which cost more than the request
// (this file's version with undici's pool.request() and async/await took 2x the CPU of autocannon).

import { UsageError } from '../errors.js';
import { prng } from '../prng.js';
import type { RequestSpec } from '../suite/schema.js';
import { headerRecord, headerValue } from './answer-parser.js';
import { localTime } from './clock.js';
import { Connections, type Exchange } from './connections.js';
import { type CompiledReadBack, type CompiledRequest, compileMix } from './mix.js';
import { type HeaderValues, MissingFieldError, type RenderContext } from './template.js';
import { idempotencyKey } from './uuid.js';

export { MAX_RPS } from './limits.js';

/** What an acknowledged request's read-back will ask, rendered from its answer; or why it cannot. */
export type RenderedReadBack =
  | { url: string; method: string; headers: Record<string, string>; path: string }
  | { error: string };

export interface Sample {
  /** When the request was due (epoch ms, sub-millisecond). */
  dueAt: number;
  /** When its last attempt ended: answer read, refused, reset or timed out (epoch ms). */
  completedAt: number;
  /** completedAt - dueAt: what a client that wanted to send at dueAt waited, retries included. */
  latencyMs: number;
  /** How late the first attempt left after dueAt (the generator's own schedule lag). */
  lagMs: number;
  /** HTTP status of the last attempt, or 0 when no answer came (refused, reset, timeout, shed here). */
  status: number;
  /** Attempts made: 1 without retries, 0 when it never left (maxInFlight reached). */
  attempts: number;
  /** Which request of the mix it was (its index in `requests`). */
  request: number;
  /** The last attempt's status is one of the request's success statuses. */
  ok: boolean;
  /** Sent in the request's idempotency header on every attempt, when it declares one. */
  idempotencyKey?: string;
  /** The replica that answered the last attempt (its X-Served-By header), when it said. */
  servedBy?: string;
  /** For an acknowledged request with a read-back: that read-back, rendered from the answer. */
  readBack?: RenderedReadBack;
}

/** What a retrying client does: retries idempotent requests with exponential back-off. */
export interface RetryPolicy {
  /** Retries after the first attempt (0: none). */
  retries: number;
  /** Wait before the first retry; doubled for each next one. */
  backoffMs: number;
}

/**
 * "retrying up to twice (back-off 50 ms, doubling)", and "with the same <header>" when the traffic
 * declares an idempotency header, for logs and reports.
 */
export function describeRetry({ retries, backoffMs }: RetryPolicy, idempotencyHeader?: string): string {
  const times = retries === 1 ? 'once' : retries === 2 ? 'twice' : `${retries} times`;
  const same = idempotencyHeader ? ` with the same ${idempotencyHeader}` : '';
  return `retrying up to ${times} (back-off ${backoffMs} ms, doubling)${same}`;
}

export interface LoadOptions {
  /** The mix: each request picked by its weight. */
  requests: RequestSpec[];
  /** Each target's base URL, such as http://127.0.0.1:5000 (a path after the host prefixes every path). */
  urlOf: Record<string, string>;
  /** Requests per second, the whole mix. */
  rps: number;
  /** Retry no answer, 429 and 5xx of idempotent requests; by default a request is tried once. */
  retry?: RetryPolicy;
  /** How long one attempt may wait for its answer. */
  timeoutMs?: number;
  /** Bounds memory and sockets if the target hangs: beyond it a due request fails at once. */
  maxInFlight?: number;
  /** Seeds {{uuid}}, {{int}} and {{pick}} (default: a random seed); the mix itself is deterministic. */
  seed?: number;
}

const NO_HEADERS: Record<string, string> = Object.freeze({});

/**
 * Connections per origin, whatever the load does: enough for 12,000 requests/s answered in 20 ms
 * (or 2,500/s in 100 ms). Sized to maxInFlight instead, a stall opened up to 2,000 connections, and
 * their handshakes then slowed the very service that was catching up; beyond the budget a request
 * waits in the queue of its origin's connections, its wait counted from its due time like any other.
 */
const CONNECTIONS_PER_ORIGIN = 256;

/** A retrying client gives up on what cannot get better by retrying: any answer below 500 but 429. */
const retryable = (status: number) => status === 0 || status === 429 || status >= 500;

/** A request of the mix with where it goes. */
interface Route {
  spec: CompiledRequest;
  connections: Connections;
  /** Path prefix of the target's base URL ('' when it has none). */
  prefix: string;
  /** The path, prefixed, when its template is constant. */
  path: string | undefined;
  /** The body when it is constant (rendered once), null when it varies, undefined when there is none. */
  body: string | null | undefined;
  /** `<METHOD> <prefix>`: the request line up to the path. */
  line: string;
  /**
   * From after the path to the varying headers: the protocol, Host, the constant headers, and the
   * body's length when the body is constant.
   */
  fixedHead: string;
  /** Headers whose values vary. */
  headers: Array<[string, CompiledRequest['headers'][number][1]]>;
  /** The read-back's target's base URL. */
  readBackUrl: string;
  /** Keep the answer's body: the read-back reads it. */
  keepsBody: boolean;
  /** A HEAD: its answer has no body. */
  bodiless: boolean;
}

/** A target's base URL split into the origin its connections connect to and the prefix of every path. */
function base(url: string, where: string): { origin: string; host: string; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${where}: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`${where}: ${JSON.stringify(url)} is not an http:// or https:// URL`);
  return { origin: parsed.origin, host: parsed.host, prefix: parsed.pathname.replace(/\/+$/, '') };
}

const constant = (template: { text: string }) => !template.text.includes('{{');

/**
 * One request in flight, as the exchange its connection carries: its callbacks fill the sample, and
 * the generator decides at the end of each attempt whether to retry it (the same object) or complete it.
 */
class Flight implements Exchange {
  readonly bodiless: boolean;
  readonly keepsBody: boolean;
  status = 0;
  /** The answer's header lines; undefined until its head arrives. */
  answer: string | undefined;
  /** The answer's body as text, while every piece of it read so far ended on a whole character. */
  text: string | undefined;
  /** The rest of the body from the first piece that ended inside a character, copied as bytes. */
  rest: Buffer[] | undefined;
  /** The answer began but its body did not arrive whole: its status stands, its body is lost. */
  cutOff = false;

  constructor(
    readonly generator: LoadGenerator,
    readonly sample: Sample,
    readonly route: Route,
    readonly seq: number,
    readonly due: number,
    /** The path as rendered, without the target's prefix (what {{request.path}} gives a read-back). */
    readonly rendered: string,
    readonly head: string,
    readonly body: string,
    /** Why it cannot be sent (a rendered value HTTP cannot carry): each attempt fails at once. */
    readonly invalid: string | undefined,
  ) {
    this.bodiless = route.bodiless;
    this.keepsBody = route.keepsBody;
  }

  onHead(status: number, headers: string): void {
    this.status = status;
    this.answer = headers;
  }

  onBody(buffer: Buffer, start: number, end: number): void {
    if (this.text === undefined || start === end) return;
    // A piece that ends in ASCII ends on a whole character (and, after pieces that did, begins on
    // one): decoded now. Otherwise it is copied, since the connection reads the next answer into the
    // same memory, and decoded with what follows it.
    if (this.rest === undefined && (buffer[end - 1] as number) < 0x80)
      this.text += buffer.toString('utf8', start, end);
    else {
      this.rest ??= [];
      this.rest.push(Buffer.from(buffer.subarray(start, end)));
    }
  }

  onEnd(): void {
    this.generator.ended(this);
  }

  onError(): void {
    // Before the answer's head: no answer at all.
    if (this.answer === undefined) this.status = 0;
    else this.cutOff = true;
    this.generator.ended(this);
  }
}

/** An acknowledged answer as a read-back's template sees it; its headers are looked up only if asked. */
class Answer {
  constructor(
    private readonly lines: string,
    readonly body: () => unknown,
  ) {}

  get headers(): HeaderValues {
    return headerRecord(this.lines);
  }
}

/** What undici refused in a request path: anything but visible ASCII and Latin-1. */
const INVALID_PATH = /[^\u0021-\u00ff]/;
/** What HTTP/1.1 forbids in a header value (a line break would end the header). */
const INVALID_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;
/** A header's name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers that frame the exchange on the connection: the connection sets them (undici refused them too). */
const FRAMING = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect']);
/** Methods whose request is expected to have a body: without one, they say Content-Length: 0 (as undici did). */
const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export class LoadGenerator {
  readonly samples: Sample[] = [];
  private readonly pools = new Map<string, Connections>();
  private readonly routes: Route[];
  private readonly periodMs: number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  /** Smooth weighted round-robin state (as nginx balances upstreams): each request's running credit. */
  private readonly credit: number[];
  private readonly totalWeight: number;
  private inFlight = 0;
  /** One string per replica name, shared by its samples (each answer's header is a new string). */
  private readonly replicas = new Map<string, string>();
  /** Resolves stop() once the last request in flight has ended. */
  private drained: (() => void) | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running = false;
  private closed: Promise<void> | undefined;
  /** performance.now() at start, and the epoch time it stands for. */
  private origin = 0;
  private epochOrigin = 0;
  private sent = 0;

  constructor(opts: LoadOptions) {
    // MAX_RPS is the CLI's to enforce: the benchmark goes beyond it to find it.
    if (!(opts.rps > 0 && Number.isFinite(opts.rps)))
      throw new RangeError(`rps must be above 0 (got ${opts.rps})`);
    this.periodMs = 1000 / opts.rps;
    this.random = prng(opts.seed ?? Math.floor(Math.random() * 4_294_967_296));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxInFlight = opts.maxInFlight ?? 2000;
    this.retries = opts.retry?.retries ?? 0;
    this.backoffMs = opts.retry?.backoffMs ?? 0;
    const mix = compileMix(opts.requests);
    this.credit = mix.map(() => 0);
    this.totalWeight = mix.reduce((sum, spec) => sum + spec.weight, 0);
    const urlOf = (target: string, where: string) => {
      const url = opts.urlOf[target];
      if (url === undefined) throw new UsageError(`${where}: no URL for target ${target}`);
      return url;
    };
    const shareOf = new Map<string, number>();
    const bases = mix.map((spec, i) => {
      const at = `traffic.requests[${i}]`;
      const target = base(urlOf(spec.target, `${at}.target`), `${at}.target`);
      shareOf.set(target.origin, (shareOf.get(target.origin) ?? 0) + spec.weight / this.totalWeight);
      const readBackUrl = spec.readBack
        ? urlOf(spec.readBack.target, `${at}.readBack.target`).replace(/\/+$/, '')
        : '';
      return { ...target, readBackUrl };
    });
    for (const [origin, share] of shareOf) {
      // Keep-alive connections, opened as the load needs them up to the budget.
      // A Service balances connections, not requests: on a few long-lived ones one replica took
      // ~100% of the traffic. Each connection closes after a tenth of a second's worth of the rate
      // (the share of it that goes to this target), so that about ten new ones a second spread the
      // load as a population of clients would.
      this.pools.set(
        origin,
        new Connections(
          origin,
          Math.min(this.maxInFlight, CONNECTIONS_PER_ORIGIN),
          Math.ceil((opts.rps * share) / 10),
          this.timeoutMs,
        ),
      );
    }
    this.routes = mix.map((spec, i) => {
      const { origin, host, prefix, readBackUrl } = bases[i] as (typeof bases)[number];
      const at = `traffic.requests[${i}]`;
      let fixed = '';
      let typed = false;
      let hosted = false;
      for (const [name, template] of spec.headers) {
        const lower = name.toLowerCase();
        if (!TOKEN.test(name))
          throw new UsageError(`${at}.headers: ${JSON.stringify(name)} is not a header name`);
        if (FRAMING.has(lower)) throw new UsageError(`${at}.headers: ${name} is the connection's to set`);
        // The length is always the body's own.
        if (lower === 'content-length') continue;
        typed ||= lower === 'content-type';
        hosted ||= lower === 'host';
        if (!constant(template)) continue;
        if (INVALID_VALUE.test(template.text))
          throw new UsageError(
            `${at}.headers.${name}: ${JSON.stringify(template.text)} cannot be sent in a header`,
          );
        fixed += `${name}: ${template.text}\r\n`;
      }
      if (spec.body?.json && !typed) fixed += 'content-type: application/json\r\n';
      // A body without placeholders renders the same every time: render it once.
      const declared = JSON.stringify(opts.requests[i]?.body);
      const body = !spec.body
        ? undefined
        : declared.includes('{{')
          ? null
          : spec.body.render({ seq: 0, random: this.random });
      if (body === undefined && PAYLOAD_METHODS.has(spec.method)) fixed += 'content-length: 0\r\n';
      else if (typeof body === 'string') fixed += `content-length: ${Buffer.byteLength(body)}\r\n`;
      const path = constant(spec.path) ? prefix + spec.path.text : undefined;
      if (path !== undefined && INVALID_PATH.test(path))
        throw new UsageError(`${at}.path: ${JSON.stringify(path)} cannot be sent as a path`);
      return {
        spec,
        connections: this.pools.get(origin) as Connections,
        prefix,
        path: constant(spec.path) ? spec.path.text : undefined,
        body,
        line: `${spec.method} ${prefix}`,
        fixedHead: ` HTTP/1.1\r\n${hosted ? '' : `host: ${host}\r\n`}${fixed}`,
        headers: spec.headers.filter(
          ([name, template]) => !constant(template) && name.toLowerCase() !== 'content-length',
        ),
        readBackUrl,
        keepsBody: !!spec.readBack?.usesResponseBody,
        bodiless: spec.method === 'HEAD',
      };
    });
  }

  /**
   * Starts the schedule: request 0 is due now, or at `at` (a sharedNow() reading, which threads
   * share) when threads split one schedule.
   */
  start(at?: number): void {
    this.running = true;
    if (at === undefined) {
      this.origin = performance.now();
      this.epochOrigin = Date.now();
    } else {
      this.origin = localTime(at);
      this.epochOrigin = Date.now() + (this.origin - performance.now());
    }
    this.tick();
  }

  /**
   * Stops sending and waits for the requests in flight (each bounded by its timeouts and retries).
   * With `at` (a sharedNow() reading), every request due before it is sent first,
   * however late this call comes: threads that split one schedule end it at the same instant.
   */
  async stop(at?: number): Promise<Sample[]> {
    if (at !== undefined && this.running) {
      const now = performance.now();
      // Never before its due time, should `at` be ahead of this thread's clock.
      const until = Math.min(localTime(at), now);
      while (this.origin + this.sent * this.periodMs < until)
        this.launch(this.origin + this.sent++ * this.periodMs, now);
    }
    this.running = false;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.closed ??= Promise.all([...this.pools.values()].map((pool) => pool.close())).then(() => {});
    await this.closed;
    return this.samples;
  }

  private tick = (): void => {
    if (!this.running) return;
    const now = performance.now();
    // Everything due by now leaves now: request i is due at origin + i * period.
    const due = Math.floor((now - this.origin) / this.periodMs) + 1;
    while (this.sent < due) this.launch(this.origin + this.sent++ * this.periodMs, now);
    const wait = this.origin + this.sent * this.periodMs - now;
    // Node's timers have 1 ms granularity and fire late, never early: sleep the whole milliseconds,
    // then, at low rates where it costs little, yield to the event loop until the due instant so a
    // request is not held up to a millisecond late. At high rates a tick sends what is due since.
    if (wait >= 1) this.timer = setTimeout(this.tick, Math.floor(wait));
    else if (this.periodMs >= 5) this.timer = setImmediate(this.tick);
    else this.timer = setTimeout(this.tick, 1);
  };

  /**
   * The next request of the mix. Deterministic, not drawn: every request gets its weight's share of
   * any stretch of the run (within one request), so a short window is not skewed by chance.
   */
  private pick(): number {
    if (this.credit.length === 1) return 0;
    let best = 0;
    for (let i = 0; i < this.credit.length; i++) {
      this.credit[i] = (this.credit[i] as number) + (this.routes[i] as Route).spec.weight;
      if ((this.credit[i] as number) > (this.credit[best] as number)) best = i;
    }
    this.credit[best] = (this.credit[best] as number) - this.totalWeight;
    return best;
  }

  private launch(due: number, now: number): void {
    const seq = this.sent - 1;
    const index = this.pick();
    const sample: Sample = {
      dueAt: this.epochOrigin + (due - this.origin),
      completedAt: 0,
      latencyMs: 0,
      lagMs: now - due,
      status: 0,
      attempts: 0,
      request: index,
      ok: false,
      // Declared now, so that they are kept in the object itself: added later, they went to a
      // second array of properties, one more allocation and ~30 bytes more per sample.
      idempotencyKey: undefined,
      servedBy: undefined,
      readBack: undefined,
    };
    if (this.inFlight >= this.maxInFlight) {
      this.complete(sample, due, now);
      return;
    }
    this.inFlight++;
    const route = this.routes[index] as Route;
    const { spec } = route;
    const ctx: RenderContext = { seq, random: this.random };
    const path = route.path ?? spec.path.render(ctx);
    let invalid: string | undefined;
    if (route.path === undefined && INVALID_PATH.test(route.prefix + path))
      invalid = `${JSON.stringify(path)} cannot be sent as a path`;
    let head = route.line + path + route.fixedHead;
    for (const [name, template] of route.headers) {
      const value = template.render(ctx);
      if (INVALID_VALUE.test(value)) invalid = `${JSON.stringify(value)} cannot be sent in a header`;
      head += `${name}: ${value}\r\n`;
    }
    if (spec.idempotencyHeader) {
      sample.idempotencyKey = idempotencyKey();
      head += `${spec.idempotencyHeader}: ${sample.idempotencyKey}\r\n`;
    }
    let body = route.body;
    if (body === null) {
      body = spec.body?.render(ctx) ?? '';
      head += `content-length: ${Buffer.byteLength(body)}\r\n`;
    }
    this.attempt(new Flight(this, sample, route, seq, due, path, head, body ?? '', invalid));
  }

  private attempt(flight: Flight): void {
    flight.sample.attempts++;
    flight.status = 0;
    flight.answer = undefined;
    flight.cutOff = false;
    if (flight.keepsBody) {
      flight.text = '';
      flight.rest = undefined;
    }
    if (flight.invalid === undefined) flight.route.connections.send(flight);
    // As undici did: the attempt fails, not the run (a template may render such a value rarely).
    else queueMicrotask(() => flight.onError());
  }

  /** The end of an attempt: an answer read to its end, or none (refused, reset, timed out). */
  ended(flight: Flight): void {
    const { sample, route } = flight;
    sample.status = flight.status;
    sample.ok = flight.status !== 0 && route.spec.success(flight.status);
    const servedBy = flight.answer === undefined ? undefined : headerValue(flight.answer, 'x-served-by');
    if (servedBy !== undefined) sample.servedBy = this.replica(servedBy);
    // A request in flight at stop() still gets its retries: stopping ends new ones, not old ones.
    const retries = route.spec.retryable ? this.retries : 0;
    if (!sample.ok && retryable(sample.status) && sample.attempts <= retries) {
      setTimeout(() => this.attempt(flight), this.backoffMs * 2 ** (sample.attempts - 1));
      return;
    }
    const readBack = sample.ok ? route.spec.readBack : undefined;
    if (readBack) sample.readBack = this.readBackOf(flight, readBack);
    this.complete(sample, flight.due, performance.now());
    if (--this.inFlight === 0) this.drained?.();
  }

  private replica(name: string): string {
    const known = this.replicas.get(name);
    if (known !== undefined) return known;
    // A service that names something else than a replica there (a request id) must not grow this.
    if (this.replicas.size < 1000) this.replicas.set(name, name);
    return name;
  }

  private readBackOf(flight: Flight, readBack: CompiledReadBack): RenderedReadBack {
    // Only the few fields the read-back names are kept, never the whole answer.
    let answer: unknown;
    let answerError: string | undefined;
    if (flight.cutOff) {
      answerError = "the answer's body was cut off";
    } else if (flight.text !== undefined) {
      try {
        const { text, rest } = flight;
        answer = JSON.parse(rest === undefined ? text : text + Buffer.concat(rest).toString());
      } catch {
        answerError = "the answer's body is not JSON";
      }
    }
    const { body } = flight;
    return this.renderReadBack(readBack, flight.route.readBackUrl, {
      seq: flight.seq,
      random: this.random,
      response: new Answer(flight.answer ?? '', () => {
        if (answerError) throw new MissingFieldError(answerError);
        return answer;
      }),
      request: {
        path: flight.rendered,
        body: () => {
          try {
            return JSON.parse(body ?? '');
          } catch {
            throw new MissingFieldError("the request's body is not JSON");
          }
        },
      },
    });
  }

  private renderReadBack(readBack: CompiledReadBack, url: string, ctx: RenderContext): RenderedReadBack {
    try {
      // One shared empty object: a long run keeps millions of samples.
      const headers: Record<string, string> = readBack.headers.length ? {} : NO_HEADERS;
      for (const [name, template] of readBack.headers) headers[name] = template.render(ctx);
      return { url, method: readBack.method, headers, path: readBack.path.render(ctx) };
    } catch (error) {
      if (error instanceof MissingFieldError) return { error: error.message };
      throw error;
    }
  }

  private complete(sample: Sample, due: number, now: number): void {
    sample.completedAt = this.epochOrigin + (now - this.origin);
    sample.latencyMs = now - due;
    this.samples.push(sample);
  }
}

// HTTP/1.1 answers read from a socket's bytes (RFC 9112), for the generator's connections: each
// answer's status, its header section as one string, its body as it arrives (by Content-Length, in
// chunks, or until the socket closes) and whether the connection may carry another request.
// Byte by byte with no string per line and no regular expression: http-parser-js, which autocannon
// uses, made a string and a regex match of every line, and took 3 us per answer (a tenth of the
// generator's CPU at 12,000 requests/s). Node's own llhttp is not offered through a public API.

/** What a parser tells its connection. */
export interface AnswerHandler {
  /**
   * An answer's head: its status and its header lines as received ("name: value", each ending in
   * CRLF or LF). True: the answer has no body, whatever its headers say (the answer to a HEAD).
   * Interim answers (1xx but 101) are read past, not reported.
   */
  onHead(status: number, headers: string): boolean;
  /** Bytes of the body, buffer[start, end): valid during the call only. */
  onBody(buffer: Buffer, start: number, end: number): void;
  /** The answer ended. */
  onComplete(): void;
}

/** A head larger than this is refused (http-parser-js's limit). */
export const MAX_HEAD_BYTES = 80 * 1024;

const HEAD = 0;
const SIZED = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
/** After a 101: the rest of the socket speaks another protocol. */
const SWITCHED = 7;

const LF = 10;
const CR = 13;
const SP = 32;
const HT = 9;
const COLON = 58;
const SEMICOLON = 59;
const COMMA = 44;

/** Bytes of a token (RFC 9110, section 5.6.2): header names. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;
/** Each hex digit's value plus one; 0 for any other byte. */
const HEX = new Uint8Array(256);
for (let i = 0; i < 16; i++)
  HEX['0123456789abcdef'.charCodeAt(i)] = HEX['0123456789ABCDEF'.charCodeAt(i)] = i + 1;

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const CONTENT_LENGTH = bytes('content-length');
const TRANSFER_ENCODING = bytes('transfer-encoding');
const CONNECTION = bytes('connection');
const CHUNKED = bytes('chunked');
const CLOSE = bytes('close');
const KEEP_ALIVE = bytes('keep-alive');
/** "HTTP/", in this case only (RFC 9112, section 2.3). */
const HTTP = bytes('HTTP/');

const lower = (byte: number) => (byte >= 65 && byte <= 90 ? byte | 0x20 : byte);
/** A decimal digit's value; above 9 for any other byte. */
const digit = (buffer: Buffer, at: number) => ((buffer[at] as number) - 48) >>> 0;

/** buffer[at, end) is `word`, in any case (a word in lower case; HTTP's name in upper case only). */
function is(buffer: Buffer, at: number, end: number, word: Uint8Array): boolean {
  if (end - at !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    const byte = buffer[at + i] as number;
    if (byte !== word[i] && lower(byte) !== word[i]) return false;
  }
  return true;
}

/** Whether a comma-separated list in buffer[at, end) holds `word` (in any case, spaces around). */
function lists(buffer: Buffer, at: number, end: number, word: Uint8Array): boolean {
  while (at < end) {
    let stop = at;
    while (stop < end && buffer[stop] !== COMMA) stop++;
    let from = at;
    let to = stop;
    while (from < to && (buffer[from] === SP || buffer[from] === HT)) from++;
    while (to > from && (buffer[to - 1] === SP || buffer[to - 1] === HT)) to--;
    if (is(buffer, from, to, word)) return true;
    at = stop + 1;
  }
  return false;
}

/** The last item of a comma-separated list in buffer[at, end) is `word`. */
function endsWith(buffer: Buffer, at: number, end: number, word: Uint8Array): boolean {
  let from = end;
  while (from > at && buffer[from - 1] !== COMMA) from--;
  return lists(buffer, from, end, word);
}

/** A Content-Length value: digits, or a list of the same digits (RFC 9110, section 8.6); -1 if invalid. */
function length(buffer: Buffer, at: number, end: number): number {
  let value = -1;
  while (at <= end) {
    while (at < end && (buffer[at] === SP || buffer[at] === HT)) at++;
    let n = 0;
    let digits = 0;
    for (; at < end && (buffer[at] as number) >= 48 && (buffer[at] as number) <= 57; at++, digits++)
      n = n * 10 + (buffer[at] as number) - 48;
    while (at < end && (buffer[at] === SP || buffer[at] === HT)) at++;
    if (digits === 0 || digits > 15 || (value !== -1 && n !== value)) return -1;
    value = n;
    if (at === end) return value;
    if (buffer[at] !== COMMA) return -1;
    at++;
  }
  return -1;
}

/** The index of the LF ending the line from `at`; -1 if it has not all come, -2 for a stray CR or NUL. */
function lineEnd(buffer: Buffer, at: number, end: number): number {
  for (; at < end; at++) {
    const byte = buffer[at] as number;
    if (byte === LF) return at;
    if (byte === 0) return -2;
    if (byte === CR) {
      if (at + 1 === end) return -1;
      if (buffer[at + 1] !== LF) return -2;
    }
  }
  return -1;
}

/** Index just after the empty line that ends a head starting at `from`; -1 if it has not all come. */
function headEnd(buffer: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    if (buffer[i] !== LF) continue;
    if (i + 1 < end && buffer[i + 1] === LF) return i + 2;
    if (i + 2 < end && buffer[i + 1] === CR && buffer[i + 2] === LF) return i + 3;
  }
  return -1;
}

function invalid(why: string): Error {
  return Object.assign(new Error(`not an HTTP/1.1 answer: ${why}`), { code: 'HPE_INVALID' });
}

/** One socket's answers, one after the other. */
export class AnswerParser {
  /** Whether the answer read last lets the connection carry another request. */
  keepAlive = true;
  private state = HEAD;
  /** The start of a head that did not all come in one read, copied (the read buffer is reused). */
  private partial: Buffer | undefined;
  /** Bytes still due of a sized body or of the current chunk; the size of a chunk being read. */
  private remaining = 0;
  /** Hex digits of the chunk size read so far. */
  private digits = 0;
  /** In a chunk extension (ignored up to the line's end). */
  private extension = false;
  /** A CR was read: the next byte must be LF. */
  private cr = false;
  /** Bytes of the current chunk-size or trailer line; all trailer bytes so far. */
  private lineBytes = 0;
  private trailerBytes = 0;

  constructor(private readonly handler: AnswerHandler) {}

  /** Reads buffer[start, end); an Error when the bytes are no HTTP/1.1 answer (the socket is done). */
  execute(buffer: Buffer, start: number, end: number): Error | undefined {
    let at = start;
    while (at < end) {
      switch (this.state) {
        case HEAD: {
          const next = this.head(buffer, at, end);
          if (typeof next !== 'number') return next;
          at = next;
          break;
        }
        case SIZED:
        case CHUNK_DATA: {
          const stop = at + Math.min(this.remaining, end - at);
          this.handler.onBody(buffer, at, stop);
          this.remaining -= stop - at;
          at = stop;
          if (this.remaining > 0) break;
          if (this.state === SIZED) this.complete();
          else this.state = CHUNK_END;
          break;
        }
        case UNTIL_CLOSE:
          this.handler.onBody(buffer, at, end);
          at = end;
          break;
        case SWITCHED:
          return undefined;
        default: {
          const error = this.framing(buffer[at++] as number);
          if (error) return error;
        }
      }
    }
    return undefined;
  }

  /** The socket closed: an answer that runs until the close ends here (others are cut off). */
  finish(): void {
    if (this.state === UNTIL_CLOSE) this.complete();
  }

  private complete(): void {
    this.state = HEAD;
    this.handler.onComplete();
  }

  /** One byte of a chunk-size line, of the line ending a chunk, or of the trailers. */
  private framing(byte: number): Error | undefined {
    if (this.cr) {
      if (byte !== LF) return invalid('a CR not followed by LF');
      this.cr = false;
    } else if (byte === CR) {
      this.cr = true;
      return undefined;
    }
    if (byte === LF) {
      if (this.state === CHUNK_END) {
        this.state = CHUNK_SIZE;
      } else if (this.state === CHUNK_SIZE) {
        if (this.digits === 0) return invalid('a chunk without a size');
        this.state = this.remaining === 0 ? TRAILERS : CHUNK_DATA;
        this.trailerBytes = 0;
        this.digits = 0;
        this.extension = false;
      } else if (this.lineBytes === 0) {
        this.complete();
      }
      this.lineBytes = 0;
      return undefined;
    }
    if (this.state === CHUNK_END) return invalid('a chunk longer than its size');
    if (++this.lineBytes > MAX_HEAD_BYTES) return invalid(`a chunk line above ${MAX_HEAD_BYTES} bytes`);
    if (this.state === TRAILERS) {
      if (++this.trailerBytes > MAX_HEAD_BYTES) return invalid(`trailers above ${MAX_HEAD_BYTES} bytes`);
      return undefined;
    }
    if (this.extension) return undefined;
    if (byte === SEMICOLON || byte === SP || byte === HT) {
      if (this.digits === 0) return invalid('a chunk without a size');
      this.extension = true;
      return undefined;
    }
    const value = HEX[byte] as number;
    if (value === 0) return invalid('a chunk size that is not hexadecimal');
    // 13 hex digits: 2^52, within a double's exact integers.
    if (++this.digits > 13) return invalid('a chunk too large');
    this.remaining = this.remaining * 16 + value - 1;
    return undefined;
  }

  /** Reads a head from buffer[at, end), whole or in part; where the body starts, or an Error. */
  private head(buffer: Buffer, at: number, end: number): number | Error {
    if (this.partial === undefined) {
      // Empty lines before an answer are ignored (RFC 9112, section 2.2).
      while (at < end && (buffer[at] === CR || buffer[at] === LF)) at++;
      if (at === end) return end;
      const stop = this.answer(buffer, at, end);
      if (stop !== -1) return stop;
      if (end - at > MAX_HEAD_BYTES) return invalid(`a head above ${MAX_HEAD_BYTES} bytes`);
      this.partial = Buffer.from(buffer.subarray(at, end));
      return end;
    }
    const before = this.partial.length;
    const joined = Buffer.concat([this.partial, buffer.subarray(at, end)]);
    // The empty line may have begun in the part read before.
    const stop = headEnd(joined, Math.max(0, before - 2), joined.length);
    if (stop === -1) {
      if (joined.length > MAX_HEAD_BYTES) return invalid(`a head above ${MAX_HEAD_BYTES} bytes`);
      this.partial = joined;
      return end;
    }
    this.partial = undefined;
    const answered = this.answer(joined, 0, stop);
    return typeof answered === 'number' ? at + answered - before : answered;
  }

  /**
   * A head from buffer[start, end): reported, and its body's framing set, if it is all there (where
   * its body begins); -1 if it has not all come (nothing reported); an Error if it is no head.
   */
  private answer(buffer: Buffer, start: number, end: number): number | Error {
    // HTTP/1.x SSS, then a reason after a space, or the line's end.
    if (end - start < 13)
      return headEnd(buffer, start, end) === -1
        ? -1
        : invalid('it does not begin with an HTTP/1.x status line');
    const after = buffer[start + 12];
    if (
      !is(buffer, start, start + 5, HTTP) ||
      digit(buffer, start + 5) !== 1 ||
      buffer[start + 6] !== 46 ||
      digit(buffer, start + 7) > 9 ||
      buffer[start + 8] !== SP ||
      digit(buffer, start + 9) > 9 ||
      digit(buffer, start + 10) > 9 ||
      digit(buffer, start + 11) > 9 ||
      (after !== SP && after !== CR && after !== LF)
    )
      return invalid('it does not begin with an HTTP/1.x status line');
    const minor = digit(buffer, start + 7);
    const status =
      digit(buffer, start + 9) * 100 + digit(buffer, start + 10) * 10 + digit(buffer, start + 11);
    let at = lineEnd(buffer, start + 12, end);
    if (at < 0) return at === -1 ? -1 : invalid('a stray CR or NUL');
    const first = ++at;
    let contentLength = -1;
    let transferEncoding = false;
    let chunked = false;
    let close = false;
    let keepAlive = false;
    let body: number;
    for (;;) {
      const eol = lineEnd(buffer, at, end);
      if (eol < 0) return eol === -1 ? -1 : invalid('a stray CR or NUL');
      if (eol + 1 - start > MAX_HEAD_BYTES) return invalid(`a head above ${MAX_HEAD_BYTES} bytes`);
      const stop = eol > at && buffer[eol - 1] === CR ? eol - 1 : eol;
      if (stop === at) {
        body = eol + 1;
        break;
      }
      if (buffer[at] === SP || buffer[at] === HT) return invalid('a folded header line (obsolete, RFC 9112)');
      let colon = at;
      while (colon < stop && TOKEN[buffer[colon] as number] === 1) colon++;
      if (colon === at || buffer[colon] !== COLON) return invalid('a header line without a name and colon');
      let from = colon + 1;
      let to = stop;
      while (from < to && (buffer[from] === SP || buffer[from] === HT)) from++;
      while (to > from && (buffer[to - 1] === SP || buffer[to - 1] === HT)) to--;
      if (is(buffer, at, colon, CONTENT_LENGTH)) {
        const value = length(buffer, from, to);
        if (value === -1 || (contentLength !== -1 && value !== contentLength))
          return invalid('an invalid Content-Length');
        contentLength = value;
      } else if (is(buffer, at, colon, TRANSFER_ENCODING)) {
        transferEncoding = true;
        // The last coding of the last field says how the body ends (RFC 9112, section 6.3).
        chunked = endsWith(buffer, from, to, CHUNKED);
      } else if (is(buffer, at, colon, CONNECTION)) {
        close ||= lists(buffer, from, to, CLOSE);
        keepAlive ||= lists(buffer, from, to, KEEP_ALIVE);
      }
      at = eol + 1;
    }
    // HTTP/1.1 keeps the connection unless told otherwise; 1.0 only when told (RFC 9112, section 9.3).
    const persistent = minor >= 1 ? !close : keepAlive && !close;
    // 1xx but 101: interim, the answer follows on the same socket (RFC 9110, section 15.2).
    if (status < 200 && status !== 101) return body;
    const bodiless = this.handler.onHead(status, buffer.toString('latin1', first, at));
    if (status === 101) {
      this.keepAlive = false;
      this.state = SWITCHED;
      this.handler.onComplete();
      return body;
    }
    // RFC 9112, section 6.3, in its order.
    if (bodiless || status === 204 || status === 304) {
      this.keepAlive = persistent;
      this.complete();
    } else if (transferEncoding && chunked) {
      // Both lengths: the chunks win, and the connection is not trusted further (section 6.1).
      this.keepAlive = persistent && contentLength === -1 && minor >= 1;
      this.state = CHUNK_SIZE;
      this.remaining = 0;
      this.digits = 0;
      this.extension = false;
      this.lineBytes = 0;
    } else if (transferEncoding || contentLength === -1) {
      this.keepAlive = false;
      this.state = UNTIL_CLOSE;
    } else {
      this.keepAlive = persistent;
      this.remaining = contentLength;
      if (contentLength === 0) this.complete();
      else this.state = SIZED;
    }
    return body;
  }
}

/** The value of a header in a header section (as onHead gets it), by its lower-case name; the first one. */
export function headerValue(headers: string, name: string): string | undefined {
  for (let at = 0; at < headers.length; ) {
    const eol = headers.indexOf('\n', at);
    const end = eol === -1 ? headers.length : eol;
    if (headers.charCodeAt(at + name.length) === COLON && sameName(headers, at, name))
      return trimmed(headers, at + name.length + 1, end);
    at = end + 1;
  }
  return undefined;
}

/** Every header of a header section: lower-case names, a repeated header's values in an array. */
export function headerRecord(headers: string): Record<string, string | string[]> {
  // No prototype: a header named constructor or __proto__ is a header like any other.
  const record: Record<string, string | string[]> = Object.create(null);
  for (let at = 0; at < headers.length; ) {
    const eol = headers.indexOf('\n', at);
    const end = eol === -1 ? headers.length : eol;
    const colon = headers.indexOf(':', at);
    const name = headers.slice(at, colon).toLowerCase();
    const value = trimmed(headers, colon + 1, end);
    const known = record[name];
    record[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
    at = end + 1;
  }
  return record;
}

function sameName(headers: string, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (lower(headers.charCodeAt(at + i)) !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** headers[from, to) without its CR and the spaces around it. */
function trimmed(headers: string, from: number, to: number): string {
  const space = (i: number) => {
    const c = headers.charCodeAt(i);
    return c === SP || c === HT || c === CR;
  };
  while (from < to && space(from)) from++;
  while (to > from && space(to - 1)) to--;
  return headers.slice(from, to);
}

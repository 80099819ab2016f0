// The answer parser on raw bytes, each answer read whole, split in two at every byte, and one byte
// at a time, always through one reused read buffer (as a connection's sockets read): every way of
// reading it must tell the same story.
import { describe, expect, it } from '@jest/globals';
import { AnswerParser, headerRecord, headerValue, MAX_HEAD_BYTES } from './answer-parser.js';

/** What the parser reported, reading `pieces` in turn; the socket closes after them when `close`. */
function story(pieces: Buffer[], options: { bodiless?: boolean; close?: boolean } = {}): string[] {
  const told: string[] = [];
  let body: Buffer[] = [];
  const parser: AnswerParser = new AnswerParser({
    onHead: (status, headers) => {
      told.push(`head ${status} ${JSON.stringify(headers)}`);
      return options.bodiless ?? false;
    },
    onBody: (buffer, start, end) => body.push(Buffer.from(buffer.subarray(start, end))),
    onComplete: () => {
      told.push(`end ${JSON.stringify(Buffer.concat(body).toString())} keepAlive=${parser.keepAlive}`);
      body = [];
    },
  });
  const reused = Buffer.alloc(MAX_HEAD_BYTES * 2);
  for (const piece of pieces) {
    piece.copy(reused);
    const error = parser.execute(reused, 0, piece.length);
    // Whatever the parser kept of this read must have been copied.
    reused.fill(0xaa);
    if (error) {
      told.push(`error ${error.message}`);
      return told;
    }
  }
  if (options.close) {
    parser.finish();
    told.push('closed');
  }
  return told;
}

/** The story of `raw` read whole; expects the same of every other way of reading it. */
function read(raw: string | Buffer, options: { bodiless?: boolean; close?: boolean } = {}): string[] {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const whole = story([bytes], options);
  for (let at = 1; at < bytes.length; at++)
    expect(story([bytes.subarray(0, at), bytes.subarray(at)], options)).toEqual(whole);
  const single = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  expect(story(single, options)).toEqual(whole);
  return whole;
}

const head = (status: number, headers: string) => `head ${status} ${JSON.stringify(headers)}`;
const end = (body: string, keepAlive = true) => `end ${JSON.stringify(body)} keepAlive=${keepAlive}`;

describe('AnswerParser', () => {
  it('reads a body of a known length, and the next answer on the same socket', () => {
    const first = 'HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Served-By: replica-1\r\n\r\nhello';
    expect(read(`${first}HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n`)).toEqual([
      head(201, 'Content-Length: 5\r\nX-Served-By: replica-1\r\n'),
      end('hello'),
      head(200, 'content-length: 0\r\n'),
      end(''),
    ]);
  });

  it('reads chunks, with extensions and trailers, and bytes of UTF-8', () => {
    const body = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name="v"\r\nhello\r\n'),
      Buffer.from('B \r\n, ünïcode\r\n0\r\nX-Checksum: 1\r\n\r\n', 'utf8'),
    ]);
    expect(read(body)).toEqual([head(200, 'Transfer-Encoding: chunked\r\n'), end('hello, ünïcode')]);
  });

  it('takes LF alone as a line end, and skips empty lines before an answer', () => {
    expect(read('\r\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok')).toEqual([
      head(200, 'Content-Length: 2\n'),
      end('ok'),
    ]);
  });

  it('reads past interim answers to the answer they precede', () => {
    expect(
      read(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
      ),
    ).toEqual([head(200, 'Content-Length: 1\r\n'), end('x')]);
  });

  it('reads no body where there is none: 204, 304, the answer to a HEAD', () => {
    expect(
      read('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n'),
    ).toEqual([head(204, ''), end(''), head(304, 'Content-Length: 9\r\n'), end('')]);
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', { bodiless: true })).toEqual([
      head(200, 'Content-Length: 1000\r\n'),
      end(''),
    ]);
  });

  it('reads an answer without a length to the close of its socket, which it does not keep', () => {
    expect(read('HTTP/1.0 200 OK\r\n\r\nto the end', { close: true })).toEqual([
      head(200, ''),
      end('to the end', false),
      'closed',
    ]);
    // Not chunked last: the body runs to the close (RFC 9112, section 6.3).
    expect(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzz', { close: true })).toEqual([
      head(200, 'Transfer-Encoding: chunked, gzip\r\n'),
      end('zz', false),
      'closed',
    ]);
    // Cut off: it does not end.
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', { close: true })).toEqual([
      head(200, 'Content-Length: 10\r\n'),
      'closed',
    ]);
  });

  it('keeps the connection as HTTP/1.0 and 1.1 and the Connection header say', () => {
    const keepAlive = (raw: string) => read(raw).at(-1);
    expect(keepAlive('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(end('', true));
    expect(keepAlive('HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n')).toBe(
      end('', false),
    );
    expect(keepAlive('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(end('', false));
    expect(keepAlive('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).toBe(
      end('', true),
    );
    // Both lengths: the chunks win, and the connection is not trusted further (RFC 9112, section 6.1).
    expect(
      keepAlive(
        'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n',
      ),
    ).toBe(end('x', false));
    // A list of the same length is one length (RFC 9110, section 8.6).
    expect(keepAlive('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok')).toBe(
      end('ok'),
    );
  });

  it('stops reading its socket after 101 Switching Protocols', () => {
    expect(read('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello')).toEqual([
      head(101, 'Upgrade: websocket\r\n'),
      end('', false),
    ]);
  });

  it.each([
    [
      'a line that is no status line',
      'hello there\r\n\r\n',
      'it does not begin with an HTTP/1.x status line',
    ],
    ['a short line', 'hi\r\n\r\n', 'it does not begin with an HTTP/1.x status line'],
    ['HTTP/2', 'HTTP/2.0 200 OK\r\n\r\n', 'it does not begin with an HTTP/1.x status line'],
    ['a short status', 'HTTP/1.1 20 OK\r\n\r\n', 'it does not begin with an HTTP/1.x status line'],
    ['a lower-case protocol', 'http/1.1 200 OK\r\n\r\n', 'it does not begin with an HTTP/1.x status line'],
    ['a folded header', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n', 'a folded header line (obsolete, RFC 9112)'],
    [
      'a header without a colon',
      'HTTP/1.1 200 OK\r\nNo colon\r\n\r\n',
      'a header line without a name and colon',
    ],
    [
      'a space before the colon',
      'HTTP/1.1 200 OK\r\nName : v\r\n\r\n',
      'a header line without a name and colon',
    ],
    ['a CR inside a value', 'HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n', 'a stray CR or NUL'],
    [
      'two lengths',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'an invalid Content-Length',
    ],
    ['a list of two lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n', 'an invalid Content-Length'],
    [
      'a length that is no number',
      'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n',
      'an invalid Content-Length',
    ],
    [
      'a chunk size that is no number',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'a chunk size that is not hexadecimal',
    ],
    [
      'a chunk without a size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n',
      'a chunk without a size',
    ],
    [
      'a chunk longer than its size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n',
      'a chunk longer than its size',
    ],
    [
      'a chunk of 2^56 bytes',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000000000000\r\n',
      'a chunk too large',
    ],
  ])('refuses %s', (_, raw, why) => {
    expect(read(raw).at(-1)).toBe(`error not an HTTP/1.1 answer: ${why}`);
  });

  it(`refuses a head above ${MAX_HEAD_BYTES} bytes, whole or in pieces`, () => {
    const raw = Buffer.from(`HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`);
    const why = `error not an HTTP/1.1 answer: a head above ${MAX_HEAD_BYTES} bytes`;
    expect(story([raw])).toEqual([why]);
    expect(story([raw.subarray(0, 50_000), raw.subarray(50_000)])).toEqual([why]);
    // In its status line alone.
    const reason = Buffer.from(`HTTP/1.1 200 ${'x'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`);
    expect(story([reason.subarray(0, 50_000), reason.subarray(50_000)])).toEqual([why]);
  });
});

describe('header lines', () => {
  const lines =
    'Content-Type: application/json\r\nX-Served-By:  replica-2 \r\nset-cookie: a=1\nSet-Cookie: b=2\r\n';

  it('give a value by name in any case, without the spaces around it; the first of several', () => {
    expect(headerValue(lines, 'x-served-by')).toBe('replica-2');
    expect(headerValue(lines, 'content-type')).toBe('application/json');
    expect(headerValue(lines, 'set-cookie')).toBe('a=1');
    expect(headerValue(lines, 'content')).toBeUndefined();
    expect(headerValue('', 'x-served-by')).toBeUndefined();
  });

  it('give every header by its lower-case name, repeats in an array', () => {
    expect({ ...headerRecord(lines) }).toEqual({
      'content-type': 'application/json',
      'x-served-by': 'replica-2',
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(headerRecord('').constructor).toBeUndefined();
    expect({ ...headerRecord('__proto__: x\r\nConstructor: y\r\n') }).toEqual({
      ['__proto__']: 'x',
      constructor: 'y',
    });
  });
});

// Templates in declared traffic: compiled once into literal text and placeholder functions, so that
// rendering a request is string concatenation. Placeholders: {{uuid}}, {{seq}}, {{int A B}},
// {{pick a "b c"}}; in a read-back also {{response.<path>}}, {{response.headers.<name>}},
// {{request.path}} and {{request.body.<path>}}. Values are inserted as they are, not URL-encoded.
import { UsageError } from '../errors.js';
import { uuidOf } from './uuid.js';

/** A request's templates may only draw values; a read-back's may also use what was sent and answered. */
export type TemplateScope = 'request' | 'readBack';

/** An HTTP answer's headers by name in lower case, a repeated header's values in an array. */
export type HeaderValues = Record<string, string | string[] | undefined>;

export interface RenderContext {
  /** The request's sequence number in the run, from 0. */
  seq: number;
  /** Uniform in [0, 1): the generator's seeded PRNG. */
  random: () => number;
  /** The acknowledged answer (read-backs only); `body` parses its JSON body when first asked. */
  response?: { headers: HeaderValues; body: () => unknown };
  /** The request as rendered and sent (read-backs only); `body` parses its JSON body when first asked. */
  request?: { path: string; body: () => unknown };
}

/** A read-back refers to a field that the answer (or the request) lacks: that read-back fails, nothing else. */
export class MissingFieldError extends Error {}

type Part = string | ((ctx: RenderContext) => string);

export interface Template {
  readonly text: string;
  /** It reads the answer's JSON body ({{response.<path>}}), which is then parsed for it. */
  readonly usesResponseBody: boolean;
  /** It is exactly one {{int A B}} or {{seq}}: a number in a JSON body. */
  readonly numeric: boolean;
  render(ctx: RenderContext): string;
}

export interface BodyTemplate {
  /** A JSON value (sent as application/json) rather than a string template. */
  readonly json: boolean;
  readonly usesResponseBody: boolean;
  render(ctx: RenderContext): string;
}

/** Bytes of a {{uuid}}, drawn from the PRNG. */
const drawn = new Uint8Array(16);

/** A version 4 UUID from the PRNG, so that a seeded run repeats its bodies. */
function uuid(random: () => number): string {
  for (let i = 0; i < 16; i += 4) {
    const word = Math.floor(random() * 4_294_967_296);
    drawn[i] = word >>> 24;
    drawn[i + 1] = (word >>> 16) & 0xff;
    drawn[i + 2] = (word >>> 8) & 0xff;
    drawn[i + 3] = word & 0xff;
  }
  return uuidOf(drawn, 0);
}

/** Words of a placeholder; "quoted items" keep their spaces (\" and \\ escape inside them). */
function words(inner: string, fail: (why: string) => never): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < inner.length) {
    const c = inner[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let word = '';
      i++;
      for (;;) {
        if (i >= inner.length) fail('an unclosed quote');
        const d = inner[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < inner.length) {
          word += inner[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      i++;
      if (i < inner.length && !/\s/.test(inner[i] as string)) fail('a quote must end its item');
      out.push(word);
    } else {
      let word = '';
      while (i < inner.length && !/\s/.test(inner[i] as string)) {
        if (inner[i] === '"') fail('a quote inside an item');
        word += inner[i++];
      }
      out.push(word);
    }
  }
  return out;
}

/** A dotted path's value, numeric segments indexing arrays; MissingFieldError when absent or null. */
function lookup(root: unknown, path: readonly string[], what: string): string {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
      throw new MissingFieldError(`${what} has no ${path.join('.')}`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined || value === null) throw new MissingFieldError(`${what} has no ${path.join('.')}`);
  return typeof value === 'string'
    ? value
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}

const INTEGER = /^-?\d+$/;

function placeholder(
  inner: string,
  scope: TemplateScope,
  fail: (why: string) => never,
): { render: (ctx: RenderContext) => string; numeric: boolean; usesResponseBody: boolean } {
  const [name, ...args] = words(inner, fail);
  const plain = (render: (ctx: RenderContext) => string, numeric = false) => ({
    render,
    numeric,
    usesResponseBody: false,
  });
  const noArgs = () => {
    if (args.length > 0) fail(`${name} takes no arguments`);
  };
  switch (name) {
    case undefined:
      return fail('an empty placeholder');
    case 'uuid':
      noArgs();
      return plain((ctx) => uuid(ctx.random));
    case 'seq':
      noArgs();
      return plain((ctx) => String(ctx.seq), true);
    case 'int': {
      const [a, b] = args;
      if (args.length !== 2 || !INTEGER.test(a ?? '') || !INTEGER.test(b ?? ''))
        fail('int takes two integers, such as {{int 1 5}}');
      const min = Number(a);
      const max = Number(b);
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) fail('int takes integers within ±2^53');
      if (min > max) fail(`int's first bound must not exceed its second`);
      const span = max - min + 1;
      return plain((ctx) => String(min + Math.floor(ctx.random() * span)), true);
    }
    case 'pick': {
      if (args.length === 0) fail('pick takes one or more items, such as {{pick a b "c d"}}');
      const items = args;
      return plain((ctx) => items[Math.floor(ctx.random() * items.length)] as string);
    }
  }
  if (!/^(response|request)\./.test(name)) fail('unknown placeholder');
  if (scope !== 'readBack') fail(`${name.split('.')[0]} fields exist only in a read-back`);
  noArgs();
  const path = name.split('.').slice(1);
  if (path.some((segment) => segment === '')) fail('an empty segment in its path');
  if (path[0] === 'headers' && name.startsWith('response.')) {
    if (path.length !== 2) fail('response.headers takes one header name, such as response.headers.location');
    const header = (path[1] as string).toLowerCase();
    return plain((ctx) => {
      const value = ctx.response?.headers[header];
      if (value === undefined) throw new MissingFieldError(`the answer has no ${header} header`);
      return Array.isArray(value) ? value.join(', ') : value;
    });
  }
  if (name.startsWith('response.')) {
    return {
      render: (ctx) => lookup(ctx.response?.body(), path, "the answer's body"),
      numeric: false,
      usesResponseBody: true,
    };
  }
  if (name === 'request.path') return plain((ctx) => ctx.request?.path ?? '');
  if (path[0] === 'body' && path.length > 1) {
    const field = path.slice(1);
    return plain((ctx) => lookup(ctx.request?.body(), field, "the request's body"));
  }
  return fail('unknown placeholder (request has path and body.<path>)');
}

/** Compiles a string template; a malformed or unknown placeholder is a UsageError naming `where`. */
export function compileTemplate(text: string, where: string, scope: TemplateScope = 'request'): Template {
  const parts: Part[] = [];
  let numericParts = 0;
  let usesResponseBody = false;
  let at = 0;
  for (let open = text.indexOf('{{'); open !== -1; open = text.indexOf('{{', at)) {
    const close = text.indexOf('}}', open + 2);
    if (close === -1) throw new UsageError(`${where}: unclosed placeholder ${text.slice(open)}`);
    const raw = text.slice(open, close + 2);
    const fail = (why: string): never => {
      throw new UsageError(`${where}: ${why === 'unknown placeholder' ? why : `${why} in`} ${raw}`);
    };
    const compiled = placeholder(text.slice(open + 2, close), scope, fail);
    if (open > at) parts.push(text.slice(at, open));
    parts.push(compiled.render);
    if (compiled.numeric) numericParts++;
    usesResponseBody ||= compiled.usesResponseBody;
    at = close + 2;
  }
  if (at < text.length) parts.push(text.slice(at));
  const only = parts[0];
  const render: (ctx: RenderContext) => string =
    parts.length === 0
      ? () => ''
      : parts.length === 1 && typeof only === 'string'
        ? () => only
        : parts.length === 1 && typeof only === 'function'
          ? only
          : (ctx) => {
              let out = '';
              for (const part of parts) out += typeof part === 'string' ? part : part(ctx);
              return out;
            };
  return { text, usesResponseBody, numeric: parts.length === 1 && numericParts === 1, render };
}

/**
 * Compiles a body: a string is a template; any other JSON value becomes JSON text with its string
 * leaves rendered (a leaf that is exactly {{int A B}} or {{seq}} as a number). Its fixed JSON is
 * serialised here once; a request only joins it with the placeholders' values.
 */
export function compileBody(body: unknown, where: string, scope: TemplateScope = 'request'): BodyTemplate {
  if (typeof body === 'string') {
    const template = compileTemplate(body, where, scope);
    return { json: false, usesResponseBody: template.usesResponseBody, render: template.render };
  }
  const parts: Part[] = [];
  let usesResponseBody = false;
  const literal = (text: string) => {
    const last = parts.length - 1;
    if (typeof parts[last] === 'string') parts[last] += text;
    else parts.push(text);
  };
  const walk = (value: unknown, at: string): void => {
    if (typeof value === 'string') {
      const template = compileTemplate(value, at, scope);
      usesResponseBody ||= template.usesResponseBody;
      if (!template.text.includes('{{')) literal(JSON.stringify(value));
      else if (template.numeric) parts.push(template.render);
      else parts.push((ctx) => JSON.stringify(template.render(ctx)));
    } else if (Array.isArray(value)) {
      literal('[');
      value.forEach((item, i) => {
        if (i > 0) literal(',');
        walk(item, `${at}[${i}]`);
      });
      literal(']');
    } else if (typeof value === 'object' && value !== null) {
      literal('{');
      Object.entries(value).forEach(([key, item], i) => {
        literal(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
        walk(item, `${at}.${key}`);
      });
      literal('}');
    } else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
      if (typeof value === 'number' && !Number.isFinite(value))
        throw new UsageError(`${at}: ${value} is not JSON`);
      literal(JSON.stringify(value));
    } else {
      throw new UsageError(`${at}: a body holds JSON values only (got ${typeof value})`);
    }
  };
  walk(body, where);
  const render = (ctx: RenderContext) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(ctx);
    return out;
  };
  return { json: true, usesResponseBody, render };
}

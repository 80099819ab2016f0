// The declared traffic (a suite's traffic.requests) compiled once: each request's templates, what
// counts as success, whether it may be retried, and its read-back with its JSONata expectation.
import jsonata from 'jsonata';
import { UsageError } from '../errors.js';
import type { RequestSpec } from '../suite/schema.js';
import { type BodyTemplate, compileBody, compileTemplate, type Template } from './template.js';

/** Safe to send twice by HTTP's own rules (RFC 9110, 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export interface CompiledReadBack {
  /** Target name; its base URL is the caller's to know. */
  target: string;
  method: string;
  path: Template;
  headers: Array<[string, Template]>;
  success: (status: number) => boolean;
  expect?: { text: string; evaluate: (body: unknown) => Promise<unknown> };
  /** It needs the acknowledged answer's JSON body. */
  usesResponseBody: boolean;
  /** "GET /items/{{response.id}}", for messages about a read-back that could not be rendered. */
  describe: string;
}

export interface CompiledRequest {
  target: string;
  method: string;
  path: Template;
  headers: Array<[string, Template]>;
  body?: BodyTemplate;
  weight: number;
  success: (status: number) => boolean;
  idempotencyHeader?: string;
  /** Idempotent by its method, or made so by its idempotency header: only these are retried. */
  retryable: boolean;
  readBack?: CompiledReadBack;
}

const successOf = (statuses: readonly number[] | undefined, fallback: (status: number) => boolean) => {
  if (!statuses) return fallback;
  const set = new Set(statuses);
  return (status: number) => set.has(status);
};

const headersOf = (
  headers: Record<string, string> | undefined,
  where: string,
  scope: 'request' | 'readBack',
) =>
  Object.entries(headers ?? {}).map(
    ([name, value]) =>
      [name, compileTemplate(value, `${where}.headers.${name}`, scope)] as [string, Template],
  );

/** Compiles every request of the mix; a bad template or expression is a UsageError naming where it is. */
export function compileMix(requests: readonly RequestSpec[], where = 'traffic.requests'): CompiledRequest[] {
  if (requests.length === 0) throw new UsageError(`${where}: the traffic needs at least one request`);
  return requests.map((spec, i) => {
    const at = `${where}[${i}]`;
    // As curl does: a request with a body is a POST unless it says otherwise.
    const method = spec.method ?? (spec.body === undefined ? 'GET' : 'POST');
    const weight = spec.weight ?? 1;
    if (!(weight > 0 && Number.isFinite(weight)))
      throw new UsageError(`${at}.weight: must be above 0 (got ${weight})`);
    const compiled: CompiledRequest = {
      target: spec.target,
      method,
      path: compileTemplate(spec.path, `${at}.path`),
      headers: headersOf(spec.headers, at, 'request'),
      weight,
      success: successOf(spec.success, (status) => status >= 200 && status < 300),
      retryable: IDEMPOTENT.has(method) || spec.idempotencyHeader !== undefined,
    };
    if (spec.body !== undefined) compiled.body = compileBody(spec.body, `${at}.body`);
    if (spec.idempotencyHeader !== undefined) compiled.idempotencyHeader = spec.idempotencyHeader;
    const rb = spec.readBack;
    if (rb) {
      const rbAt = `${at}.readBack`;
      const path = compileTemplate(rb.path, `${rbAt}.path`, 'readBack');
      const headers = headersOf(rb.headers, rbAt, 'readBack');
      const readBack: CompiledReadBack = {
        target: rb.target ?? spec.target,
        method: rb.method ?? 'GET',
        path,
        headers,
        success: successOf(rb.success, (status) => status === 200),
        usesResponseBody: path.usesResponseBody || headers.some(([, t]) => t.usesResponseBody),
        describe: `${rb.method ?? 'GET'} ${rb.path}`,
      };
      if (rb.expect !== undefined) readBack.expect = compileExpect(rb.expect, `${rbAt}.expect`);
      compiled.readBack = readBack;
    }
    return compiled;
  });
}

function compileExpect(text: string, where: string): NonNullable<CompiledReadBack['expect']> {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(text);
  } catch (error) {
    throw new UsageError(
      `${where}: ${JSON.stringify(text)} is not a JSONata expression: ${(error as Error).message}`,
    );
  }
  return { text, evaluate: (body) => expression.evaluate(body) };
}

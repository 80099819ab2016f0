// What every kind of probe gives the steady-state hypothesis: one reading at a time, one result type.
import type { ProbePhase } from '../suite/schema.js';
import type { Before } from './compare.js';

export interface ProbeResult {
  name: string;
  phase: ProbePhase;
  ok: boolean;
  /** When the probe was sent, epoch ms. */
  at: number;
  latencyMs: number;
  /** What it read (the JSON expression's result, the query's value, the HTTP status without `json`). */
  value?: unknown;
  /** One line: why it failed or what it read. */
  detail: string;
}

export type Reading = Pick<ProbeResult, 'ok' | 'latencyMs' | 'value' | 'detail'>;

export interface Probe {
  readonly name: string;
  /** Never throws: a probe that cannot reach its target has failed, with the reason in `detail`. */
  read(phase: ProbePhase, before: Before): Promise<Reading>;
}

/**
 * Why a request failed, in one line. Duck-typed: errors from Node's core (a refused connection, an
 * AbortSignal's timeout) come from another realm than the code under jest, so instanceof fails there.
 */
export function reasonOf(err: unknown, timeoutMs: number): string {
  const { name, code, message } = (typeof err === 'object' && err !== null ? err : {}) as Record<
    string,
    unknown
  >;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (typeof message !== 'string') return String(err);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

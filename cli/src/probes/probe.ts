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

/** Why a request failed, in one line (undici's errors carry a code, timeouts a name). */
export function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

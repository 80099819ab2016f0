import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

/** The longest delay Node's timers hold (2^31-1 ms); a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a duration cannot be honoured ("must ..."), or undefined when it can. */
export function durationProblem(value: unknown): string | undefined {
  const ms = toMs(value);
  if (ms === undefined) return `must look like 300ms, 30s, 2m or 1h (got ${shown(value)})`;
  if (ms > MAX_TIMER_MS)
    return `must be at most 596h (${MAX_TIMER_MS} ms, the longest timer Node holds) (got ${shown(value)})`;
  return undefined;
}

/** "300ms", "30s", "2m", "1h" or a number of milliseconds, up to the longest timer Node holds. */
export function parseDuration(value: string | number, what = 'duration'): number {
  const problem = durationProblem(value);
  if (problem) throw new UsageError(`${what} ${problem}`);
  return toMs(value) as number;
}

function toMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  const match = DURATION.exec(String(value).trim());
  return match ? Math.round(Number(match[1]) * (UNITS[match[2] as string] as number)) : undefined;
}

export const shown = (value: unknown) => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value));

export const formatMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

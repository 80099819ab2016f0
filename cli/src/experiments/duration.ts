import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** "300ms", "30s", "2m" or a number of milliseconds. */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(String(value).trim());
  if (!match) throw new UsageError(`${what} must look like 300ms, 30s or 2m (got '${value}')`);
  return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
}

export const formatMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

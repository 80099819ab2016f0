// Which replicas a disruption hits: a seeded random choice, so a run can be repeated.
import { prng } from '../prng.js';

/** `count` victims chosen at random among candidates (sorted by name first, so a seed is reproducible). */
export function pickVictims<T extends { name: string }>(
  candidates: readonly T[],
  count: number,
  seed: number,
): T[] {
  const random = prng(seed);
  const pool = [...candidates].sort((a, b) => a.name.localeCompare(b.name));
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, count);
}

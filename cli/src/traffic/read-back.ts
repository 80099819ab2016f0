// After the chaos: was anything lost? Every acknowledged request that declares a read-back is read
// back as its answer said (the read-back was rendered when the answer came) and must succeed, and
// satisfy its JSONata expectation when it has one.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, request } from 'undici';
import type { RequestSpec } from '../suite/schema.js';
import type { Sample } from './load.js';
import { type CompiledReadBack, compileMix } from './mix.js';

export interface ReadBackResult {
  /** Acknowledged (ok) requests whose request declares a read-back. */
  acknowledged: number;
  /** Of those, the ones read back as declared. */
  readBack: number;
  /** The first 20 that were not, each "METHOD path: reason". */
  missing: string[];
  passed: boolean;
}

export interface ReadBackOptions {
  /** Reads at once (default 16). */
  concurrency?: number;
  /** Tries per read when there is no answer, a 429 or a 5xx (default 5, 200 ms apart). */
  attempts?: number;
}

const TRY_TIMEOUT_MS = 5000;
const TRY_GAP_MS = 200;

/** JSONata's own truth ($boolean): empty strings, arrays of nothing true, zero and {} are false. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy);
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** `samples` as the generator left them; `requests` the mix it ran (their indexes are the samples'). */
export async function checkReadBack(
  samples: readonly Sample[],
  requests: RequestSpec[],
  opts: ReadBackOptions = {},
): Promise<ReadBackResult> {
  const mix = compileMix(requests);
  const queue: Array<{ sample: Sample; readBack: CompiledReadBack }> = [];
  for (const sample of samples) {
    const readBack = sample.ok ? mix[sample.request]?.readBack : undefined;
    if (readBack) queue.push({ sample, readBack });
  }
  const acknowledged = queue.length;
  const missing: string[] = [];
  const attempts = opts.attempts ?? 5;
  await Promise.all(
    Array.from({ length: opts.concurrency ?? 16 }, async () => {
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
        const failure = await readOnce(next.sample, next.readBack, attempts);
        if (failure) missing.push(failure);
      }
    }),
  );
  return {
    acknowledged,
    readBack: acknowledged - missing.length,
    missing: missing.slice(0, 20),
    passed: missing.length === 0,
  };
}

/** Why the read-back failed, or undefined when it passed. */
async function readOnce(
  sample: Sample,
  readBack: CompiledReadBack,
  attempts: number,
): Promise<string | undefined> {
  const rendered = sample.readBack;
  if (!rendered) return `${readBack.describe}: no read-back was rendered from the answer`;
  if ('error' in rendered) return `${readBack.describe}: ${rendered.error}`;
  const what = `${rendered.method} ${rendered.path}`;
  let last = '';
  // A replica may still be starting: give each read a few tries before calling the request lost.
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(TRY_GAP_MS);
    try {
      // undici's request, not fetch: fetch refuses the Fetch standard's "bad ports" (6000...).
      const res = await request(`${rendered.url}${rendered.path}`, {
        method: rendered.method as Dispatcher.HttpMethod,
        headers: rendered.headers,
        signal: AbortSignal.timeout(TRY_TIMEOUT_MS),
      });
      if (!readBack.success(res.statusCode)) {
        await res.body.dump();
        last = `answered ${res.statusCode}`;
        if (res.statusCode === 429 || res.statusCode >= 500) continue;
        return `${what}: ${last}`;
      }
      if (!readBack.expect) {
        await res.body.dump();
        return undefined;
      }
      let body: unknown;
      try {
        body = JSON.parse(await res.body.text());
      } catch {
        return `${what}: answered ${res.statusCode} without a JSON body for ${readBack.expect.text}`;
      }
      try {
        if (truthy(await readBack.expect.evaluate(body))) return undefined;
      } catch (error) {
        return `${what}: ${readBack.expect.text} could not be evaluated: ${(error as Error).message}`;
      }
      return `${what}: ${readBack.expect.text} is not true`;
    } catch (error) {
      last = `no answer (${(error as Error).message})`;
    }
  }
  return `${what}: ${last} after ${attempts} tries`;
}

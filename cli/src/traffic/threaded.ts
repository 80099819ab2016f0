// Above what one core sends, one schedule split across worker threads: thread i of n sends requests
// i, i + n, i + 2n... of the single-thread schedule (due at start + k / rps), each on its own event
// loop with its own connections and a seed of its own, and hands back a summary (counts and latency
// histograms) that adds up to the run's. Samples stay in their thread: copying 20,000 a second to
// the main thread would cost it about what sending them did.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { sharedNow } from './clock.js';
import type { LoadOptions } from './load.js';
import type { FromWorker, ToWorker } from './load-worker.js';
import { decodeSummary, mergeSummaries, type RunSummary } from './stats.js';

/**
 * Requests per second one generator thread is asked for at most. scripts/bench/generator.mjs held
 * 12,000/s on one core (at load 11 on this 2-core machine it held less): the margin is for that.
 */
export const THREAD_RPS = 10_000;

/** Threads for a rate: one per THREAD_RPS (or `perThread`), no more than the cores. */
export function threadsFor(rps: number, perThread = THREAD_RPS): number {
  return Math.min(availableParallelism(), Math.max(1, Math.ceil(rps / perThread)));
}

/** Thread i's seed: the run's own for thread 0, so one thread repeats an unthreaded run. */
const seedOf = (seed: number, i: number) => (seed + Math.imul(i, 0x9e3779b9)) >>> 0;

// Under jest the sources run from src/, where there is no JavaScript to start a thread with: the
// build's (npm test builds first).
const built = new URL('./load-worker.js', import.meta.url);
const script = import.meta.url.endsWith('.ts')
  ? new URL(built.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'))
  : built;

export interface ThreadedResult {
  /** The whole run's: every thread's counts added and histograms merged. */
  summary: RunSummary;
  /** Each thread's own, in thread order. */
  threads: RunSummary[];
}

export class ThreadedLoad {
  private readonly workers: Worker[] = [];
  /** Resolves when thread i posts its summary (or rejects when it fails). */
  private readonly summaries: Array<Promise<RunSummary>> = [];
  private readonly ready: Array<Promise<void>> = [];

  constructor(
    private readonly opts: LoadOptions,
    readonly threads = threadsFor(opts.rps),
  ) {
    if (!(Number.isInteger(threads) && threads >= 1))
      throw new RangeError(`threads must be 1 or more (got ${threads})`);
    if (!(opts.rps > 0 && Number.isFinite(opts.rps)))
      throw new RangeError(`rps must be above 0 (got ${opts.rps})`);
    const seed = opts.seed ?? Math.floor(Math.random() * 4_294_967_296);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(script, {
        workerData: {
          ...opts,
          rps: opts.rps / threads,
          seed: seedOf(seed, i),
          ...(opts.maxInFlight === undefined ? {} : { maxInFlight: Math.ceil(opts.maxInFlight / threads) }),
        } satisfies LoadOptions,
      });
      // A thread that fails (its generator refused the options, or it crashed) fails whichever of
      // start() and stop() is waiting; neither promise is an unhandled rejection meanwhile.
      let ready!: () => void;
      let done!: (summary: RunSummary) => void;
      let fail!: (error: Error) => void;
      const failed = new Promise<never>((_, reject) => (fail = reject));
      this.ready.push(Promise.race([new Promise<void>((resolve) => (ready = resolve)), failed]));
      this.summaries.push(Promise.race([new Promise<RunSummary>((resolve) => (done = resolve)), failed]));
      for (const promise of [failed, this.ready[i], this.summaries[i]]) promise?.catch(() => {});
      worker.on('message', (message: FromWorker) => {
        if ('ready' in message) ready();
        else done(decodeSummary(message.summary));
      });
      worker.once('error', fail);
      worker.once('exit', (code) =>
        fail(new Error(`generator thread ${i} exited (code ${code}) before its summary`)),
      );
      this.workers.push(worker);
    }
  }

  /** Waits for every thread to be ready, then starts them on one schedule a few milliseconds ahead. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.ready);
    } catch (error) {
      await this.terminate();
      throw error;
    }
    const at = sharedNow() + 20;
    const periodMs = 1000 / this.opts.rps;
    for (const [i, worker] of this.workers.entries())
      worker.postMessage({ start: at + i * periodMs } satisfies ToWorker);
  }

  /**
   * Ends the schedule now: each thread sends what was due until this instant, waits for its
   * requests in flight, and hands back its summary; the result adds them up.
   */
  async stop(): Promise<ThreadedResult> {
    const at = sharedNow();
    for (const worker of this.workers) worker.postMessage({ stop: at } satisfies ToWorker);
    try {
      const threads = await Promise.all(this.summaries);
      return { summary: mergeSummaries(threads), threads };
    } finally {
      await this.terminate();
    }
  }

  private async terminate(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

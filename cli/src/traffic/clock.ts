// One clock for the threads of a process: process.hrtime (the monotonic clock, the same in every
// thread). performance.now() counts from each thread's own origin, and performance.timeOrigin puts
// that origin on the wall clock: a worker's differed from the main thread's by about a millisecond
// (measured), and by what looked like 160 ms once on a loaded machine (two readings a pause came
// between).

/** Milliseconds on the process's monotonic clock. */
export const sharedNow = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The performance.now() of this thread at `at` (a sharedNow() reading of any thread). */
export function localTime(at: number): number {
  // A pause between the two readings only makes the offset look larger: the least of a few is it.
  let offset = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const local = performance.now();
    offset = Math.min(offset, sharedNow() - local);
  }
  return at - offset;
}

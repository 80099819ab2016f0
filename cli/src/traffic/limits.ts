// The traffic's bounds, apart from the generator so that a schema can name them without loading it.

/**
 * The highest rate the CLI lets one generator process send. scripts/bench/generator.mjs held 6,000/s
 * within 1% on this 2-core machine while others loaded it (about a quarter of a core at 5,000/s); the
 * margin below that is for the busier machines CI runs on. See docs/performance.md.
 */
export const MAX_RPS = 5000;

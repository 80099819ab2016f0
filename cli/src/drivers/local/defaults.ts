// LocalRun's defaults (see suite/local-run.ts), apart from the supervisor so that `local up --help`
// can name them without loading it (and undici with it).
export const DEFAULT_REPLICAS = 2;
export const DEFAULT_READINESS = '/';
export const DEFAULT_START_TIMEOUT = '60s';

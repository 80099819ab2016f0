// LocalRun's defaults (see suite/local-run.ts) and the supervisor's last-word prefix, apart from
// the supervisor so that `local up --help` and a command that finds no platform (a dry run) do not
// load it (and undici with it).
export const DEFAULT_REPLICAS = 2;
export const DEFAULT_READINESS = '/';
export const DEFAULT_START_TIMEOUT = '60s';

/** What the supervisor's own last word starts with in its log, when it cannot start (supervisor-main.ts). */
export const SUPERVISOR_PREFIX = 'chaosctl supervisor: ';

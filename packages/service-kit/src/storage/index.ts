// Storage for all three services: PostgreSQL when DATABASE_URL is set, otherwise an embedded
// SQLite file under DATA_DIR. Same SQL, same migrations, same tests for both.
import type { Database, Migration } from './types.js';

export { isCheckViolation, isUniqueViolation, redactUrl } from './errors.js';
export type { Database, Dialect, Migration, Queryable } from './types.js';

export interface OpenDatabaseOptions {
  /** postgres:// URL; unset selects SQLite. */
  url?: string | undefined;
  dataDir: string;
  fileName: string;
  migrations: readonly Migration[];
  poolMax?: number | undefined;
  /** PostgreSQL: how long to keep trying while the server does not answer yet (default 0). */
  startupWaitMs?: number | undefined;
}

/**
 * Opens the database and brings its schema up to date. Each backend is loaded only when chosen:
 * a replica's start-up (its recovery after a kill) does not pay for the driver it does not use.
 */
export async function openDatabase({
  url,
  dataDir,
  fileName,
  migrations,
  poolMax,
  startupWaitMs,
}: OpenDatabaseOptions): Promise<Database> {
  if (url) return (await import('./postgres.js')).openPostgres(url, migrations, poolMax, startupWaitMs);
  return (await import('./sqlite.js')).openSqlite(dataDir, fileName, migrations);
}

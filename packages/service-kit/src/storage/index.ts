// Storage for all three services: PostgreSQL when DATABASE_URL is set, otherwise an embedded
// SQLite file under DATA_DIR. Same SQL, same migrations, same tests for both.
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
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
}

/** Opens the database and brings its schema up to date. */
export function openDatabase({
  url,
  dataDir,
  fileName,
  migrations,
  poolMax,
}: OpenDatabaseOptions): Promise<Database> {
  return url ? openPostgres(url, migrations, poolMax) : openSqlite(dataDir, fileName, migrations);
}

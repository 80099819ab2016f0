// One migration mechanism for both dialects: applied in id order, each recorded in
// schema_migrations in the same transaction. The caller holds the database's write lock, so
// replicas starting together apply each migration once.
import type { Dialect, Migration, Queryable } from './types.js';

export interface MigrationTarget extends Queryable {
  /** Runs a multi-statement script without parameters. */
  script(sql: string): Promise<void>;
}

/**
 * Whether any migration is not yet recorded, read without the write lock: a replica that starts
 * beside busy ones, with every migration applied as is usual, does not queue behind their writes.
 */
export async function migrationsPending(
  target: Queryable,
  migrations: readonly Migration[],
): Promise<boolean> {
  let rows: Array<{ id: number }>;
  try {
    rows = await target.query<{ id: number }>('SELECT id FROM schema_migrations');
  } catch {
    // No schema_migrations yet (a new store); anything else fails again where the lock is held.
    return true;
  }
  const applied = new Set(rows.map((row) => Number(row.id)));
  return migrations.some((migration) => !applied.has(migration.id));
}

export async function applyMigrations(
  target: MigrationTarget,
  dialect: Dialect,
  migrations: readonly Migration[],
) {
  await target.script(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const rows = await target.query<{ id: number }>('SELECT id FROM schema_migrations');
  const applied = new Set(rows.map((row) => Number(row.id)));
  for (const migration of [...migrations].sort((a, b) => a.id - b.id)) {
    if (applied.has(migration.id)) continue;
    await target.script(typeof migration.up === 'string' ? migration.up : migration.up[dialect]);
    await target.execute('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [
      migration.id,
      migration.name,
      new Date().toISOString(),
    ]);
  }
}

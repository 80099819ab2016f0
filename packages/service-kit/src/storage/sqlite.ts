// Embedded SQLite (node:sqlite, no native addon). Safe for several processes sharing one file:
// WAL lets readers run beside a writer, and every transaction takes the write lock up front
// (BEGIN IMMEDIATE), so two replicas' read-then-write transactions queue instead of deadlocking.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { applyMigrations, type MigrationTarget, migrationsPending } from './migrate.js';
import type { Database, Migration, Queryable } from './types.js';

/** Runs async work one piece at a time: one connection cannot hold two interleaved transactions. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

// `$1` becomes `?1`: SQLite's numbered parameters, so a placeholder may repeat as in PostgreSQL.
const translate = (sql: string) => sql.replace(/\$(\d+)/g, '?$1');

function bind(params: readonly unknown[]): SQLInputValue[] {
  return params.map((value) => {
    if (value === undefined || value === null) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (value instanceof Date) return value.toISOString();
    return value as SQLInputValue;
  });
}

// Preparing a statement costs more than running most of ours, so each connection keeps its
// statements by SQL text. The bound only matters to a caller that builds SQL text per call.
const STATEMENT_CACHE_SIZE = 256;

class Connection implements MigrationTarget {
  private readonly statements = new Map<string, StatementSync>();

  constructor(private readonly db: DatabaseSync) {}

  async query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.prepared(sql).all(...bind(params)) as T[];
  }

  async execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return Number(this.prepared(sql).run(...bind(params)).changes);
  }

  /** The connection's statement for `sql`; SQLite re-prepares it by itself after a schema change. */
  prepared(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(translate(sql));
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        // Map keeps insertion order: the first key is the oldest statement.
        this.statements.delete(this.statements.keys().next().value as string);
      }
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async script(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.prepared('BEGIN IMMEDIATE').run();
    try {
      const result = await fn(this);
      this.prepared('COMMIT').run();
      return result;
    } catch (error) {
      // Some errors (SQLITE_FULL, a failed COMMIT) already ended the transaction; keep the original.
      if (this.db.isTransaction) this.prepared('ROLLBACK').run();
      throw error;
    }
  }
}

// Handles on one file in one process share a mutex: while one holds the write lock across an
// await, another's BEGIN IMMEDIATE would block the event loop that lock is waiting for.
// Other processes just wait (busy timeout) for the short transactions to commit.
const mutexes = new Map<string, Mutex>();

export async function openSqlite(
  dataDir: string,
  fileName: string,
  migrations: readonly Migration[],
): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const path = resolve(dataDir, fileName);
  const mutex = mutexes.get(path) ?? new Mutex();
  mutexes.set(path, mutex);

  const db = new DatabaseSync(path, { timeout: 5000 });
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  const connection = new Connection(db);
  if (await mutex.run(() => migrationsPending(connection, migrations)))
    await mutex.run(() => connection.transaction(() => applyMigrations(connection, 'sqlite', migrations)));

  let closed = false;
  return {
    dialect: 'sqlite',
    query: (sql, params) => mutex.run(() => connection.query(sql, params)),
    execute: (sql, params) => mutex.run(() => connection.execute(sql, params)),
    transaction: (fn) => mutex.run(() => connection.transaction(fn)),
    ping: () => mutex.run(async () => void connection.prepared('SELECT 1').get()),
    close: () =>
      mutex.run(async () => {
        if (!closed) db.close();
        closed = true;
      }),
  };
}

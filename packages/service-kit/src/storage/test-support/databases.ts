// Test fixture: a fresh database of either backend. SQLite gets a temporary directory;
// PostgreSQL (TEST_DATABASE_URL, by default the local server) gets a schema of its own, so tests
// and parallel workers never see each other's tables. `cleanup()` removes what was made.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../index.js';
import type { Database, Dialect, Migration } from '../types.js';

export const backends: readonly Dialect[] = ['sqlite', 'postgres'];

export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Database;
  /**
   * Opens another handle on the same store, as a second replica would (closed by `cleanup`).
   * Give it other migrations to play a replica of a newer version.
   */
  openAnother(migrations?: readonly Migration[]): Promise<Database>;
  /** PostgreSQL only: a URL whose connections land in this test's schema (give it to a service). */
  url?: string;
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function openTestDatabase(
  backend: Dialect,
  migrations: readonly Migration[],
): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'chaos-db-'));
  const handles: Database[] = [];
  let url: string | undefined;
  let schema: string | undefined;
  if (backend === 'postgres') {
    schema = `t_${randomBytes(6).toString('hex')}`;
    await withAdmin((client) => client.query(`CREATE SCHEMA ${schema}`));
    const separator = testDatabaseUrl.includes('?') ? '&' : '?';
    url = `${testDatabaseUrl}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  }
  const openAnother = async (others = migrations) => {
    const db = await openDatabase({ url, dataDir, fileName: 'test.db', migrations: others, poolMax: 5 });
    handles.push(db);
    return db;
  };
  const cleanup = async () => {
    await Promise.all(handles.map((handle) => handle.close()));
    if (schema) await withAdmin((client) => client.query(`DROP SCHEMA ${schema} CASCADE`));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const db = await openAnother();
    return { db, openAnother, ...(url ? { url } : {}), dataDir, cleanup };
  } catch (error) {
    await cleanup(); // a migration that fails must not leave its schema behind
    throw error;
  }
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

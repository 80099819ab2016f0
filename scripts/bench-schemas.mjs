// The benchmarks' PostgreSQL schemas: each run of the services gets a fresh one, so runs never see
// each other's rows, and every one is dropped at the end. Shared by scripts/bench.mjs and
// scripts/bench/*.mjs (this file sits outside bench/, which bench.mjs runs file by file).
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function benchSchemas(prefix) {
  const schemas = [];
  /** A short-lived admin connection for `fn`. */
  const withAdmin = async (fn) => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    withAdmin,
    /** A new schema; the URL `at` (default the server's) with it as search_path. */
    async fresh(at = postgresUrl) {
      const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
      await withAdmin((client) => client.query(`CREATE SCHEMA ${schema}`));
      schemas.push(schema);
      const url = new URL(at);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return url;
    },
    /** Drops every schema made here. */
    async dropAll() {
      if (schemas.length === 0) return;
      const names = schemas.splice(0).join(', ');
      await withAdmin((client) => client.query(`DROP SCHEMA ${names} CASCADE`));
    },
  };
}

// PostgreSQL through a pg pool. BIGINT (counts, millisecond timestamps) comes back as a number,
// as it does from SQLite, so callers see the same rows from both.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { redactPassword, redactUrl } from './errors.js';
import { applyMigrations } from './migrate.js';
import type { Database, Migration, Queryable } from './types.js';

const INT8_OID = 20;
// Any constant: it names the lock replicas take while migrating.
const MIGRATION_LOCK = 727_274_001;

const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)),
};

// Each SQL text gets a statement name, the same in every connection of the process. pg prepares
// a named statement the first time its connection runs it and only binds and executes it after
// that; a new connection (a reconnect) starts with none and prepares again. Past the bound, texts
// run unnamed (parsed per call): PostgreSQL keeps a connection's named statements until it closes.
const NAMED_STATEMENTS_MAX = 256;
const statementNames = new Map<string, string>();

function statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
  let name = statementNames.get(sql);
  if (name === undefined && statementNames.size < NAMED_STATEMENTS_MAX) {
    name = `s${statementNames.size + 1}`;
    statementNames.set(sql, name);
  }
  return { text: sql, values: params as unknown[], ...(name ? { name } : {}) };
}

const onClient = (client: pg.ClientBase | pg.Pool): Queryable => ({
  async query<T>(sql: string, params: readonly unknown[] = []) {
    return (await client.query(statement(sql, params))).rows as T[];
  },
  async execute(sql: string, params: readonly unknown[] = []) {
    return (await client.query(statement(sql, params))).rowCount ?? 0;
  },
});

// Errors of a server that does not answer yet: nothing listens (ECONNREFUSED), its name does not
// resolve yet (ENOTFOUND, EAI_AGAIN), no route to it yet (ENETUNREACH, EHOSTUNREACH: a Service
// whose rules kube-proxy has not written yet, seen on a real node), the connection is cut or times
// out, or PostgreSQL says it is starting up or shutting down (SQLSTATE 57P03 cannot_connect_now).
// Anything else (a wrong password, a missing database) fails at once.
const NOT_YET = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  '57P03',
]);
const notYet = (error: unknown) =>
  NOT_YET.has((error as { code?: string }).code ?? '') ||
  /Connection terminated|timeout exceeded when trying to connect/.test((error as Error).message);

export async function openPostgres(
  url: string,
  migrations: readonly Migration[],
  poolMax = 10,
  startupWaitMs = 0,
): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, types, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});

  const onConnection = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // pg-pool removes its own 'error' listener while a client is checked out, and an emitter with
    // none throws: a connection lost mid-transaction (a database restart, a terminated backend)
    // would crash the process. The failing query rejects anyway; this only keeps the event.
    let lost: Error | undefined;
    const onLost = (error: Error) => {
      lost = error;
    };
    client.on('error', onLost);
    const release = (error?: Error) => {
      client.off('error', onLost);
      client.release(error ?? lost);
    };
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      release();
      return result;
    } catch (error) {
      // A client whose rollback fails is broken: release it with the error so the pool drops it.
      await client.query('ROLLBACK').then(
        () => release(),
        (rollbackError: Error) => release(rollbackError),
      );
      throw error;
    }
  };

  const transaction = <T>(fn: (tx: Queryable) => Promise<T>) =>
    onConnection((client) => fn(onClient(client)));

  try {
    // A database that is still starting (a pod beside ours, a restart) is waited for, a second
    // between tries, up to startupWaitMs; a process that exited instead would pile up the
    // kubelet's restart back-off, which then delays every later restart of the container.
    const deadline = Date.now() + startupWaitMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await pool.query('SELECT 1');
        break;
      } catch (error) {
        if (!notYet(error) || Date.now() + 1000 > deadline || attempt > 600) throw error;
        await sleep(1000);
      }
    }
    await onConnection(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const target = { ...onClient(client), script: async (sql: string) => void (await client.query(sql)) };
      await applyMigrations(target, 'postgres', migrations);
    });
  } catch (error) {
    await pool.end();
    // A new error without `cause`: the driver's error may carry the connection string.
    const message = redactPassword((error as Error).message, url);
    throw new Error(`cannot open PostgreSQL database ${redactUrl(url)}: ${message}`);
  }

  let closed = false;
  return {
    dialect: 'postgres',
    ...onClient(pool),
    transaction,
    ping: async () => void (await pool.query('SELECT 1')),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

import { type AddressInfo, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { isCheckViolation, isUniqueViolation, openDatabase } from './index.js';
import { backends, openTestDatabase, type TestDatabase, testDatabaseUrl } from './test-support/databases.js';
import type { Migration } from './types.js';

const migrations: Migration[] = [
  {
    id: 1,
    name: 'counters',
    up: `CREATE TABLE counters (id INTEGER PRIMARY KEY, label TEXT UNIQUE, n INTEGER NOT NULL CHECK (n >= 0), big BIGINT);
         INSERT INTO counters (id, label, n, big) VALUES (1, 'stock', 5, 9007199254740991);`,
  },
  {
    id: 2,
    name: 'dialect marker',
    up: {
      postgres: "CREATE TABLE marker (dialect TEXT); INSERT INTO marker VALUES ('postgres');",
      sqlite: "CREATE TABLE marker (dialect TEXT); INSERT INTO marker VALUES ('sqlite');",
    },
  },
];

let store: TestDatabase | undefined;
afterEach(async () => {
  await store?.cleanup();
  store = undefined;
});

describe.each(backends)('%s', (backend) => {
  const open = async (initial = migrations) => {
    store = await openTestDatabase(backend, initial);
    return store;
  };

  it('applies each migration once, with the dialect-specific script', async () => {
    const { db, openAnother } = await open();
    expect(db.dialect).toBe(backend);
    expect(await db.query('SELECT dialect FROM marker')).toEqual([{ dialect: backend }]);
    const again = await openAnother();
    expect(await again.query('SELECT id, name FROM schema_migrations ORDER BY id')).toEqual([
      { id: 1, name: 'counters' },
      { id: 2, name: 'dialect marker' },
    ]);
    expect(await again.query('SELECT COUNT(*) AS rows FROM counters')).toEqual([{ rows: 1 }]);
  });

  it('lets replicas that start together on a new store apply each migration once', async () => {
    const { openAnother } = await open([]);
    const replicas = await Promise.all([
      openAnother(migrations),
      openAnother(migrations),
      openAnother(migrations),
    ]);
    for (const replica of replicas) {
      expect(await replica.query('SELECT id FROM schema_migrations ORDER BY id')).toEqual([
        { id: 1 },
        { id: 2 },
      ]);
    }
    // The seed row in migration 1 would be there twice had it run twice.
    expect(await replicas[0]?.query('SELECT COUNT(*) AS rows FROM counters')).toEqual([{ rows: 1 }]);
  });

  it('returns BIGINT values and counts as numbers', async () => {
    const { db } = await open();
    const [row] = await db.query<{ big: unknown; rows: unknown }>(
      'SELECT big, (SELECT COUNT(*) FROM counters) AS rows FROM counters WHERE id = 1',
    );
    expect(row).toEqual({ big: Number.MAX_SAFE_INTEGER, rows: 1 });
    expect(typeof row?.big).toBe('number');
  });

  it('binds repeated $n placeholders and reports changed rows', async () => {
    const { db } = await open();
    expect(await db.execute('UPDATE counters SET n = n + $1, big = big - $1 WHERE id = $2', [2, 1])).toBe(1);
    expect(await db.execute('UPDATE counters SET n = 0 WHERE id = $1', [42])).toBe(0);
    expect(await db.query('SELECT n, big FROM counters WHERE label = $1', ['stock'])).toEqual([
      { n: 7, big: 9007199254740989 },
    ]);
  });

  it('returns the rows a write changed (RETURNING), and none when it changed none', async () => {
    const { db } = await open();
    const update = 'UPDATE counters SET n = n + $1 WHERE label = $2 RETURNING id, n';
    expect(await db.query(update, [3, 'stock'])).toEqual([{ id: 1, n: 8 }]);
    expect(await db.query(update, [3, 'missing'])).toEqual([]);
    const insert =
      "INSERT INTO counters (id, label, n) VALUES ($1, 'new', 0) ON CONFLICT (id) DO NOTHING RETURNING id";
    expect(await db.transaction((tx) => tx.query(insert, [2]))).toEqual([{ id: 2 }]);
    expect(await db.transaction((tx) => tx.query(insert, [2]))).toEqual([]);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const { db } = await open();
    await db.transaction((tx) => tx.execute("INSERT INTO counters (id, label, n) VALUES (2, 'kept', 1)"));
    await expect(
      db.transaction(async (tx) => {
        await tx.execute("INSERT INTO counters (id, label, n) VALUES (3, 'dropped', 1)");
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await db.query('SELECT label FROM counters ORDER BY id')).toEqual([
      { label: 'stock' },
      { label: 'kept' },
    ]);
  });

  it('recognises unique and check violations', async () => {
    const { db } = await open();
    const unique = await db
      .execute("INSERT INTO counters (id, label, n) VALUES (9, 'stock', 1)")
      .catch((e) => e);
    expect(isUniqueViolation(unique)).toBe(true);
    expect(isCheckViolation(unique)).toBe(false);
    const check = await db.execute('UPDATE counters SET n = -1 WHERE id = 1').catch((e) => e);
    expect(isCheckViolation(check)).toBe(true);
    expect(isUniqueViolation(check)).toBe(false);
  });

  it('answers ping and closes idempotently', async () => {
    const { db } = await open();
    await expect(db.ping()).resolves.toBeUndefined();
    await db.close();
    await db.close();
    await expect(db.ping()).rejects.toThrow();
  });

  it('never takes a counter below zero when two handles race 20 conditional decrements', async () => {
    const { db, openAnother } = await open();
    const other = await openAnother();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? db : other).transaction(async (tx) => {
          const [row] = await tx.query<{ n: number }>('SELECT n FROM counters WHERE id = 1');
          const taken = await tx.execute('UPDATE counters SET n = n - 1 WHERE id = 1 AND n >= 1');
          return { seen: row?.n ?? -1, taken };
        }),
      ),
    );
    expect(outcomes.filter((o) => o.taken === 1)).toHaveLength(5);
    expect(outcomes.filter((o) => o.seen < 0)).toEqual([]);
    expect(await db.query('SELECT n FROM counters WHERE id = 1')).toEqual([{ n: 0 }]);
  });
});

describe('sqlite', () => {
  it('opens a store with every migration applied while another process holds its write lock', async () => {
    store = await openTestDatabase('sqlite', migrations);
    const writer = new DatabaseSync(join(store.dataDir, 'test.db'));
    writer.exec('BEGIN IMMEDIATE');
    try {
      // A replica started beside a busy one: it needs no write to start, so it does not wait for one.
      const replica = await store.openAnother();
      expect(await replica.query('SELECT n FROM counters WHERE id = 1')).toEqual([{ n: 5 }]);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });
});

describe('prepared statements', () => {
  const sql = 'SELECT n FROM counters WHERE id = $1';

  it('sqlite: prepares each SQL text once per connection, up to a bound', async () => {
    const prepare = jest.spyOn(DatabaseSync.prototype, 'prepare');
    const preparedTimes = (text: string) => prepare.mock.calls.filter(([called]) => called === text).length;
    try {
      store = await openTestDatabase('sqlite', migrations);
      const { db, openAnother } = store;
      for (let i = 0; i < 3; i++) expect(await db.query(sql, [1])).toEqual([{ n: 5 }]);
      await db.transaction((tx) => tx.query(sql, [1]));
      expect(preparedTimes('SELECT n FROM counters WHERE id = ?1')).toBe(1);

      // Another handle (another replica) is another connection, with statements of its own.
      await (await openAnother()).query(sql, [1]);
      expect(preparedTimes('SELECT n FROM counters WHERE id = ?1')).toBe(2);

      // SQL built per call must not grow the cache without end: the oldest statement goes.
      for (let i = 0; i < 300; i++) await db.query(`SELECT ${i} AS v`);
      await db.query(sql, [1]);
      expect(preparedTimes('SELECT n FROM counters WHERE id = ?1')).toBe(3);
    } finally {
      prepare.mockRestore();
    }
  });

  it('postgres: prepares each SQL text once per connection, and again on the new connection after a reconnect', async () => {
    store = await openTestDatabase('postgres', migrations);
    const { db } = store;
    // One transaction holds one connection; pg_prepared_statements lists that session's statements.
    const runThreeTimes = () =>
      db.transaction(async (tx) => {
        for (let i = 0; i < 3; i++) expect(await tx.query(sql, [1])).toEqual([{ n: 5 }]);
        const [session] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const prepared = await tx.query(
          'SELECT generic_plans + custom_plans AS executions FROM pg_prepared_statements WHERE statement = $1',
          [sql],
        );
        return { pid: session?.pid, prepared };
      });

    const before = await runThreeTimes();
    expect(before.prepared).toEqual([{ executions: 3 }]);

    const admin = new pg.Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [before.pid]);
    } finally {
      await admin.end();
    }
    // The pool learns of the dead connection asynchronously; a call in between may fail with it.
    let after: Awaited<ReturnType<typeof runThreeTimes>> | undefined;
    for (let attempt = 0; attempt < 50 && !after; attempt++) {
      after = await runThreeTimes().catch(() => sleep(20).then(() => undefined));
    }
    expect(after?.pid).not.toBe(before.pid);
    expect(after?.prepared).toEqual([{ executions: 3 }]);
  });
});

describe('postgres connection loss', () => {
  it('fails the transaction that held the lost connection, without crashing, and the next one reconnects', async () => {
    store = await openTestDatabase('postgres', migrations);
    const { db } = store;
    const admin = new pg.Client({ connectionString: testDatabaseUrl });
    await admin.connect();
    try {
      // The backend dies while the transaction holds its connection, as in a database restart.
      // pg rejects the next query and then emits 'error' on the checked-out client: without a
      // listener that event is an uncaught exception, which jest reports as this test failing.
      let lostPid: number | undefined;
      const failed = db.transaction(async (tx) => {
        const [session] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        lostPid = session?.pid;
        // With a timeout, PostgreSQL (14+) answers once the backend has really exited.
        await admin.query('SELECT pg_terminate_backend($1, 5000)', [lostPid]);
        return tx.query('SELECT 1 AS one');
      });
      await expect(failed).rejects.toThrow();

      const [after] = await db.transaction((tx) =>
        tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'),
      );
      expect(after?.pid).toEqual(expect.any(Number));
      expect(after?.pid).not.toBe(lostPid);
      expect(await db.query('SELECT n FROM counters WHERE id = $1', [1])).toEqual([{ n: 5 }]);
    } finally {
      await admin.end();
    }
  });
});

describe('openDatabase', () => {
  it('waits for a PostgreSQL that starts answering after it, as a pod beside the database does', async () => {
    const target = new URL(testDatabaseUrl);
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    // Nothing listens on the port for 1.5 s, then a relay to the real server does.
    const relay = createServer((socket) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      socket.pipe(upstream).pipe(socket);
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', end);
      upstream.on('error', end);
      socket.on('close', end);
    });
    const opened = new URL(testDatabaseUrl);
    opened.port = String(port);
    const late = setTimeout(() => relay.listen(port, '127.0.0.1'), 1500);
    const started = Date.now();
    try {
      const db = await openDatabase({
        url: opened.toString(),
        dataDir: '/nonexistent',
        fileName: 'x.db',
        migrations: [],
        startupWaitMs: 10_000,
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      await db.ping();
      await db.close();
    } finally {
      clearTimeout(late);
      relay.close();
    }
  });

  it('gives up on a PostgreSQL that never answers once its wait is over', async () => {
    const started = Date.now();
    const failure = openDatabase({
      url: 'postgres://u:secret@127.0.0.1:1/x',
      dataDir: '/nonexistent',
      fileName: 'x.db',
      migrations,
      startupWaitMs: 2000,
    });
    await expect(failure).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps the password out of a connection error', async () => {
    const failure = openDatabase({
      url: 'postgres://u:secret@127.0.0.1:1/x',
      dataDir: '/nonexistent',
      fileName: 'x.db',
      migrations,
    });
    await expect(failure).rejects.toThrow(
      /cannot open PostgreSQL database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x: .*ECONNREFUSED/,
    );
    await expect(failure).rejects.not.toThrow(/secret/);
  });
});

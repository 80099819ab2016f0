import { afterEach, describe, expect, it } from '@jest/globals';
import { isCheckViolation, isUniqueViolation, openDatabase } from './index.js';
import { backends, openTestDatabase, type TestDatabase } from './test-support/databases.js';
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

describe('openDatabase', () => {
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

export type Dialect = 'postgres' | 'sqlite';

/**
 * What a transaction and a database share. SQL uses `$1..$n` placeholders on both dialects.
 * Each SQL text is prepared once per connection and reused, so pass values as parameters, never
 * spliced into the text, and name the columns you read: on PostgreSQL a prepared `SELECT *` fails
 * once another replica's migration adds a column to its table.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface Database extends Queryable {
  readonly dialect: Dialect;
  /**
   * Commits when `fn` resolves, rolls back and rethrows when it rejects. Inside `fn` use only
   * `tx`: on SQLite the database's own methods wait until the transaction ends.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  /** Safe to call more than once. */
  close(): Promise<void>;
}

export interface Migration {
  id: number;
  name: string;
  /** One SQL script, or one per dialect where they differ. */
  up: string | Record<Dialect, string>;
}

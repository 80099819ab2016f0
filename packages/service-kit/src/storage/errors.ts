// Constraint violations callers may turn into 409s, recognised on both dialects.
interface DriverError {
  code?: string;
  errcode?: number;
}

// PostgreSQL SQLSTATEs, and SQLite extended result codes (node:sqlite puts them on `errcode`).
const PG_UNIQUE = '23505';
const PG_CHECK = '23514';
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_CHECK = 275;

const driverError = (error: unknown): DriverError =>
  typeof error === 'object' && error !== null ? error : {};

export function isUniqueViolation(error: unknown): boolean {
  const { code, errcode } = driverError(error);
  return (
    code === PG_UNIQUE || errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY
  );
}

export function isCheckViolation(error: unknown): boolean {
  const { code, errcode } = driverError(error);
  return code === PG_CHECK || errcode === SQLITE_CONSTRAINT_CHECK;
}

/** A connection string fit for logs: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/** `text` with the URL's password removed, in both its encoded and decoded spelling. */
export function redactPassword(text: string, url: string): string {
  const password = URL.parse(url)?.password;
  if (!password) return text;
  const redacted = text.replaceAll(password, '***');
  try {
    return redacted.replaceAll(decodeURIComponent(password), '***');
  } catch {
    return redacted; // not valid percent-encoding, so it has no decoded spelling
  }
}

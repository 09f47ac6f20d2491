/** Constraint violations, recognised on both drivers (PostgreSQL SQLSTATE, better-sqlite3 codes). */
function codeOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(error: unknown): boolean {
  const code = codeOf(error);
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** PostgreSQL gave up waiting for a lock (lock_timeout). */
export function isLockTimeout(error: unknown): boolean {
  return codeOf(error) === '55P03';
}

/** SQLite's "another connection holds the lock" (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED...). */
export function isBusy(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/**
 * A write could not have the SQLite file's write lock within DB_BUSY_TIMEOUT_MS: another process
 * held it all that time. Nothing of the write was done; answered 503 with Retry-After.
 */
export class DatabaseBusy extends Error {
  constructor(waitedMs: number) {
    super(`the database is busy: another process held its write lock for ${waitedMs} ms; nothing was written, try again`);
    this.name = 'DatabaseBusy';
  }
}

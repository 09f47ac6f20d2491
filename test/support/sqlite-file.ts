/** What the tests use of better-sqlite3 (which ships no types): a connection of their own to a service's SQLite file. */
export interface SqliteFile {
  prepare(sql: string): { all(...params: unknown[]): unknown[]; get(...params: unknown[]): unknown; run(...params: unknown[]): unknown };
  exec(sql: string): void;
  pragma(sql: string): unknown;
  close(): void;
  readonly inTransaction: boolean;
}

export function openSqlite(file: string, options: { readonly?: boolean; timeout?: number } = {}): SqliteFile {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const BetterSqlite3 = require('better-sqlite3') as new (file: string, options: object) => SqliteFile;
  return new BetterSqlite3(file, options);
}

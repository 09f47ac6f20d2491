import { DatabaseKind } from './data-source';

/**
 * A Date as a parameter of raw SQL. node-postgres binds Date itself (with its offset, right for
 * timestamptz); better-sqlite3 binds no Date, and SQLite compares our timestamps as text, so they
 * must be in exactly the form TypeORM writes: UTC 'YYYY-MM-DD HH:MM:SS.SSS'.
 */
export function sqlTimestamp(kind: DatabaseKind, at: Date): Date | string {
  return kind === 'postgres' ? at : at.toISOString().replace('T', ' ').replace('Z', '');
}

/** Positional placeholder: $1 on PostgreSQL, ? on SQLite. */
export function placeholder(kind: DatabaseKind, index: number): string {
  return kind === 'postgres' ? `$${index}` : '?';
}

/**
 * Collects parameters for raw SQL that runs on both databases. Call add() in the order the
 * placeholders appear in the text: SQLite's `?` placeholders are positional.
 */
export class SqlParams {
  readonly values: unknown[] = [];
  constructor(readonly kind: DatabaseKind) {}
  add(value: unknown): string {
    this.values.push(value instanceof Date ? sqlTimestamp(this.kind, value) : value);
    return placeholder(this.kind, this.values.length);
  }
}

/** A timestamp read by raw SQL: PostgreSQL answers a Date, SQLite the UTC text form above. */
export function fromSqlTimestamp(value: unknown): Date | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value;
  return new Date(`${String(value).replace(' ', 'T')}Z`);
}

/**
 * A boolean read by raw SQL: node-postgres answers true/false (or 't'/'f' where a value arrives as
 * text), better-sqlite3 the stored 1/0.
 */
export function fromSqlBoolean(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

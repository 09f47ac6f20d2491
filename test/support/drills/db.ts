import { Client } from 'pg';
import { TestDb } from '../databases';

/**
 * The drills' own handle on the database a spawned service uses: raw SQL next to the running
 * service, to seed big populations in a few statements and to read the ledger and the tables
 * straight (the evidence does not go through the API under test).
 */
export interface DrillDb {
  kind: TestDb;
  /** Rows of a query; write $1, $2 ... (rewritten to ? for SQLite). */
  all(sql: string, params?: unknown[]): Promise<Record<string, any>[]>;
  run(sql: string, params?: unknown[]): Promise<void>;
  /** A timestamp parameter as the database compares it (Date on PostgreSQL, TypeORM's UTC text on SQLite). */
  ts(at: Date): unknown;
  /** SQLite only: the better-sqlite3 handle, for seeding in one JS transaction. */
  sqlite?: SqliteHandle;
  close(): Promise<void>;
}

export interface SqliteStatement {
  all(...params: unknown[]): Record<string, any>[];
  run(...params: unknown[]): { changes: number };
}

export interface SqliteHandle {
  prepare(sql: string): SqliteStatement;
  pragma(sql: string): unknown;
  transaction<A extends unknown[]>(work: (...args: A) => void): (...args: A) => void;
  close(): void;
}

/** Opens a second connection to a database URL of the service (postgres://... or sqlite:<file>). */
export async function openDrillDb(url: string): Promise<DrillDb> {
  if (!url.startsWith('sqlite:')) {
    const client = new Client({ connectionString: url });
    // A restarted server ends this connection; the drill that restarts it reconnects on its own.
    client.on('error', () => undefined);
    await client.connect();
    return {
      kind: 'postgres',
      all: async (sql, params = []) => (await client.query(sql, params)).rows,
      run: async (sql, params = []) => void (await client.query(sql, params)),
      ts: (at) => at,
      close: () => client.end().catch(() => undefined),
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Sqlite = require('better-sqlite3') as new (file: string) => SqliteHandle;
  const handle = new Sqlite(url.slice('sqlite:'.length));
  // The service writes through its own connection; wait for its write lock rather than fail.
  handle.pragma('busy_timeout = 30000');
  const sqlite = (sql: string) => sql.replace(/\$\d+/g, '?');
  return {
    kind: 'sqlite',
    all: async (sql, params = []) => handle.prepare(sqlite(sql)).all(...params),
    run: async (sql, params = []) => void handle.prepare(sqlite(sql)).run(...params),
    ts: sqliteTs,
    sqlite: handle,
    close: async () => handle.close(),
  };
}

/** TypeORM's UTC text form of a timestamp on SQLite ('YYYY-MM-DD HH:MM:SS.SSS'). */
export function sqliteTs(at: Date): string {
  return at.toISOString().replace('T', ' ').replace('Z', '');
}

/** A timestamp as read back: a Date from PostgreSQL, TypeORM's UTC text from SQLite. */
export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  return new Date(`${String(value).replace(' ', 'T')}Z`);
}

export async function count(db: DrillDb, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.all(sql, params);
  return Number(row.n);
}

export interface LedgerRun {
  id: string;
  jobId: string;
  scheduledFor: Date;
  fireKey: string | null;
  attempt: number;
  trigger: string;
  triggeredBy: string;
  status: string;
  owner: string | null;
  startedAt: Date;
  leaseUntil: Date | null;
  finishedAt: Date | null;
  summary: Record<string, any> | null;
  error: string | null;
}

/** Every job_run row of a job, straight from the ledger, oldest first. */
export async function ledgerRuns(db: DrillDb, jobId: string): Promise<LedgerRun[]> {
  const rows = await db.all(
    `SELECT id, job_id, scheduled_for, fire_key, attempt, "trigger", triggered_by, status, owner, started_at, lease_until, finished_at, summary, error
       FROM job_run WHERE job_id = $1 ORDER BY started_at, attempt`,
    [jobId],
  );
  return rows.map((r) => ({
    id: String(r.id),
    jobId: r.job_id,
    scheduledFor: toDate(r.scheduled_for)!,
    fireKey: r.fire_key,
    attempt: Number(r.attempt),
    trigger: r.trigger,
    triggeredBy: r.triggered_by,
    status: r.status,
    owner: r.owner,
    startedAt: toDate(r.started_at)!,
    leaseUntil: toDate(r.lease_until),
    finishedAt: toDate(r.finished_at),
    summary: r.summary ? (typeof r.summary === 'string' ? JSON.parse(r.summary) : r.summary) : null,
    error: r.error,
  }));
}

export interface CleanupReportRow {
  id: string;
  status: string;
  trigger: string;
  messagesDeleted: number;
  conversationsDeleted: number;
  batches: number;
  durationMs: number | null;
  error: string | null;
}

export async function cleanupReports(db: DrillDb): Promise<CleanupReportRow[]> {
  const rows = await db.all(
    `SELECT id, status, "trigger", messages_deleted, conversations_deleted, batches, duration_ms, error FROM cleanup_report ORDER BY started_at`,
  );
  return rows.map((r) => ({
    id: String(r.id),
    status: r.status,
    trigger: r.trigger,
    messagesDeleted: Number(r.messages_deleted),
    conversationsDeleted: Number(r.conversations_deleted),
    batches: Number(r.batches),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    error: r.error,
  }));
}

/** The pid in a run's owner (host:pid:random). */
export function ownerPid(owner: string | null): number {
  const parts = (owner ?? '').split(':');
  return Number(parts[parts.length - 2]);
}

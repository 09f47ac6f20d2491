import { DatabaseKind } from '../database/data-source';
import { fromSqlTimestamp, SqlParams } from '../database/sql';
import { JobRun, RunTrigger, TakenAwayStatus } from './job-run.entity';

/** The run ledger's statements, built for either database. No I/O here: JobLedger runs them. */

export interface Statement {
  sql: string;
  params: unknown[];
}

/** What a statement needs to say "now" and "when a lease taken now ends". */
export interface LedgerTime {
  kind: DatabaseKind;
  /** The app clock's now. */
  now: Date;
  leaseSeconds: number;
}

/**
 * Lease times come from the database's clock on PostgreSQL (clock_timestamp()), so replicas whose
 * clocks disagree still agree on whose lease has run out. On SQLite (one host) the app clock is the
 * database's clock.
 */
function dbNow(t: LedgerTime, p: SqlParams): string {
  return t.kind === 'postgres' ? 'clock_timestamp()' : p.add(t.now);
}

function leaseEnd(t: LedgerTime, p: SqlParams): string {
  return t.kind === 'postgres'
    ? `clock_timestamp() + ${p.add(t.leaseSeconds)}::int * interval '1 second'`
    : p.add(new Date(t.now.getTime() + t.leaseSeconds * 1000));
}

const inList = (p: SqlParams, ids: string[]) => ids.map((id) => p.add(id)).join(', ');

const RUN_COLUMNS = [
  'id',
  'job_id',
  'task',
  'scheduled_for',
  'fire_key',
  'attempt',
  'trigger',
  'triggered_by',
  'status',
  'owner',
  'started_at',
  'heartbeat_at',
  'lease_until',
  'finished_at',
  'duration_ms',
  'summary',
  'error',
  'progress',
  'deadline_at',
];

/**
 * A run's row, unless its (job_id, fire_key, attempt) is already there: of all the replicas that
 * insert the same fire exactly one row goes in. A run about to be executed takes its lease with it.
 */
export function insertRun(t: LedgerTime, run: JobRun, withLease: boolean): Statement {
  const p = new SqlParams(t.kind);
  const values = [
    p.add(run.id),
    p.add(run.jobId),
    p.add(run.task),
    p.add(run.scheduledFor),
    p.add(run.fireKey),
    p.add(run.attempt),
    p.add(run.trigger),
    p.add(run.triggeredBy),
    p.add(run.status),
    p.add(run.owner),
    p.add(run.startedAt),
    withLease ? dbNow(t, p) : p.add(run.heartbeatAt),
    withLease ? leaseEnd(t, p) : 'NULL',
    p.add(run.finishedAt),
    p.add(run.durationMs),
    p.add(run.summary ? JSON.stringify(run.summary) : null),
    p.add(run.error),
    p.add(run.progress ? JSON.stringify(run.progress) : null),
    p.add(run.deadlineAt),
  ];
  const sql = `INSERT INTO job_run (${RUN_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES (${values.join(', ')}) ON CONFLICT DO NOTHING`;
  return { sql, params: p.values };
}

/** The job's live runs: running, with a lease not yet expired. */
export function liveRuns(t: LedgerTime, jobId: string): Statement {
  const p = new SqlParams(t.kind);
  const sql = `SELECT id, started_at, "trigger", owner FROM job_run
    WHERE job_id = ${p.add(jobId)} AND status = 'running' AND lease_until > ${dbNow(t, p)}
    ORDER BY started_at`;
  return { sql, params: p.values };
}

/**
 * How a run ended, written only while its row still says running. A run whose lease was taken away
 * (reaped after a freeze, or given up at shutdown) stays as that was recorded: abandoned, counted
 * once, and never turned into a second success of the same fire.
 */
export function finishRun(t: LedgerTime, done: JobRun): Statement {
  const p = new SqlParams(t.kind);
  const summary = done.summary ? JSON.stringify(done.summary) : null;
  const progress = done.progress ? JSON.stringify(done.progress) : null;
  const sql = `UPDATE job_run SET status = ${p.add(done.status)}, summary = ${p.add(summary)}, error = ${p.add(done.error)},
      finished_at = ${p.add(done.finishedAt)}, duration_ms = ${p.add(done.durationMs)}, lease_until = NULL, heartbeat_at = ${dbNow(t, p)},
      progress = COALESCE(${p.add(progress)}, progress)
    WHERE id = ${p.add(done.id)} AND status = 'running'`;
  return { sql, params: p.values };
}

/** Renews the leases of the given runs, where `owner` still holds them. */
export function renewLeases(t: LedgerTime, owner: string, runIds: string[]): Statement {
  const p = new SqlParams(t.kind);
  const sql = `UPDATE job_run SET heartbeat_at = ${dbNow(t, p)}, lease_until = ${leaseEnd(t, p)}
    WHERE owner = ${p.add(owner)} AND status = 'running' AND id IN (${inList(p, runIds)})
    RETURNING id`;
  return { sql, params: p.values };
}

/**
 * True while the run's row still says running: the fence of its writes. The reaper and a shutdown
 * take a run away by marking this row, so the row alone decides, with no clocks compared. On
 * PostgreSQL the share lock holds the row until the fenced statement commits: a reaper marking it
 * meanwhile waits for that batch, so every write of the run precedes its abandonment. SQLite runs
 * one writer at a time, so the statement and the mark cannot interleave at all.
 */
export function leaseHeld(kind: DatabaseKind, p: SqlParams, runId: string): string {
  return `EXISTS (SELECT 1 FROM job_run WHERE id = ${p.add(runId)} AND status = 'running'${kind === 'postgres' ? ' FOR SHARE' : ''})`;
}

const TAKEN_COLUMNS = 'id, job_id, fire_key, attempt, "trigger", scheduled_for, owner, status, error';

/**
 * Marks the running rows whose lease has run out, except those in `inFlightHere`, and returns them:
 * abandoned, or timed_out when their deadline passed too (a run frozen past its maxRuntimeSeconds
 * is not run again). The UPDATE re-tests the status, so a row is marked by one replica only.
 */
export function reapExpired(t: LedgerTime, inFlightHere: string[]): Statement {
  const p = new SqlParams(t.kind);
  // Parameters are added in the order they appear in the text: SQLite's placeholders are positional.
  const now = p.add(t.now);
  const sql = `UPDATE job_run SET
      status = CASE WHEN deadline_at IS NOT NULL AND deadline_at <= ${now} THEN 'timed_out' ELSE 'abandoned' END,
      finished_at = ${p.add(t.now)}, lease_until = NULL,
      error = CASE WHEN deadline_at IS NOT NULL AND deadline_at <= ${p.add(t.now)}
        THEN 'it ran past its maxRuntimeSeconds, and its replica stopped renewing the lease'
        ELSE 'its replica stopped renewing the lease (it died, hung, or lost the database); the run is given up' END
    WHERE status = 'running' AND lease_until < ${dbNow(t, p)}${inFlightHere.length ? ` AND id NOT IN (${inList(p, inFlightHere)})` : ''}
    RETURNING ${TAKEN_COLUMNS}`;
  return { sql, params: p.values };
}

/**
 * Takes runs away: marks them `status` (abandoned at shutdown, cancelled, timed_out) if they are
 * still running or queued, and returns those it marked. The one write ends the run in the ledger
 * and closes its fence (leaseHeld), so whichever replica runs it can write nothing more.
 */
export function takeAway(t: LedgerTime, runIds: string[], status: TakenAwayStatus, reason: string): Statement {
  const p = new SqlParams(t.kind);
  const sql = `UPDATE job_run SET status = ${p.add(status)}, finished_at = ${p.add(t.now)}, lease_until = NULL, error = ${p.add(reason)}
    WHERE status IN ('running', 'queued') AND id IN (${inList(p, runIds)})
    RETURNING ${TAKEN_COLUMNS}`;
  return { sql, params: p.values };
}

/** Of the given runs, those no longer running: taken away (cancelled, timed out, reaped) while they ran here. */
export function takenAway(kind: DatabaseKind, runIds: string[]): Statement {
  const p = new SqlParams(kind);
  const sql = `SELECT ${TAKEN_COLUMNS} FROM job_run WHERE id IN (${inList(p, runIds)}) AND status <> 'running'`;
  return { sql, params: p.values };
}

/**
 * What a run that was taken away got done, written by its owner once it stopped (how far a
 * cancelled cleanup got). Only into a row that is final and has no summary yet.
 */
export function lateSummary(kind: DatabaseKind, runId: string, summary: Record<string, unknown>, progress: unknown): Statement {
  const p = new SqlParams(kind);
  const sql = `UPDATE job_run SET summary = ${p.add(JSON.stringify(summary))}, progress = COALESCE(${p.add(progress ? JSON.stringify(progress) : null)}, progress)
    WHERE id = ${p.add(runId)} AND status NOT IN ('running', 'queued') AND summary IS NULL`;
  return { sql, params: p.values };
}

/** How far a running run has got. */
export function writeProgress(kind: DatabaseKind, runId: string, progress: unknown): Statement {
  const p = new SqlParams(kind);
  const sql = `UPDATE job_run SET progress = ${p.add(JSON.stringify(progress))} WHERE id = ${p.add(runId)} AND status = 'running'`;
  return { sql, params: p.values };
}

/**
 * Starts a queued run: it becomes running, owned by `owner`, with a lease and its deadline, unless
 * another replica started (or someone cancelled) it first.
 */
export function startQueued(t: LedgerTime, runId: string, owner: string, deadlineAt: Date | null): Statement {
  const p = new SqlParams(t.kind);
  const sql = `UPDATE job_run SET status = 'running', owner = ${p.add(owner)}, started_at = ${p.add(t.now)},
      heartbeat_at = ${dbNow(t, p)}, lease_until = ${leaseEnd(t, p)}, deadline_at = ${p.add(deadlineAt)}
    WHERE id = ${p.add(runId)} AND status = 'queued'`;
  return { sql, params: p.values };
}

/** See JobLedger.abandonedFires. */
export function abandonedFires(kind: DatabaseKind, since: Date, maxAttempts: number): Statement {
  const p = new SqlParams(kind);
  const sql = `SELECT r.id, r.job_id, r.fire_key, r.attempt, r."trigger", r.scheduled_for, r.owner FROM job_run r
    WHERE r.status = 'abandoned' AND r.fire_key IS NOT NULL AND r.attempt < ${p.add(maxAttempts)} AND r.started_at >= ${p.add(since)}
      AND NOT EXISTS (SELECT 1 FROM job_run s WHERE s.job_id = r.job_id AND s.fire_key = r.fire_key AND s.attempt > r.attempt)
      AND NOT EXISTS (SELECT 1 FROM job_run l WHERE l.job_id = r.job_id AND l.fire_key IS NOT NULL AND l.scheduled_for > r.scheduled_for
                        AND l.status IN ('running', 'succeeded'))
    ORDER BY r.scheduled_for`;
  return { sql, params: p.values };
}

/** A run taken away: given up at shutdown, reaped, cancelled or timed out. */
export interface AbandonedRun {
  id: string;
  status: TakenAwayStatus;
  /** Why it was taken away. */
  reason?: string;
  jobId: string;
  fireKey: string | null;
  attempt: number;
  trigger: RunTrigger;
  scheduledFor: Date;
  owner: string | null;
}

/** A row of reapExpired or abandonedFires, as either driver answers it. */
export function toAbandoned(r: Record<string, unknown>): AbandonedRun {
  return {
    id: String(r.id),
    jobId: String(r.job_id),
    fireKey: (r.fire_key as string | null) ?? null,
    attempt: Number(r.attempt),
    trigger: r.trigger as RunTrigger,
    scheduledFor: fromSqlTimestamp(r.scheduled_for)!,
    owner: (r.owner as string | null) ?? null,
    status: ((r.status as TakenAwayStatus | undefined) ?? 'abandoned') as TakenAwayStatus,
    ...(r.error ? { reason: String(r.error) } : {}),
  };
}

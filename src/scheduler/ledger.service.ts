import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { keysetPage, Page } from '../common/cursor';
import { maskEmails } from '../common/mask';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { execute } from '../database/execute';
import { persistently } from '../database/retry';
import { fromSqlBoolean, fromSqlTimestamp, SqlParams } from '../database/sql';
import { JobRun, RunProgress, RunStatus, RunTrigger, TakenAwayStatus } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import {
  AbandonedRun,
  abandonedFires,
  finishRun,
  insertRun,
  lateSummary,
  LedgerTime,
  liveRuns,
  reapExpired,
  renewLeases,
  startQueued,
  takeAway,
  takenAway,
  toAbandoned,
  writeProgress,
} from './ledger-sql';

export type { AbandonedRun };

/**
 * An abandoned attempt of a fire is run again at most this many times in all (a fire that kills its
 * replica every time must not take the whole cluster down in turn).
 */
export const MAX_ATTEMPTS = 3;

type ClaimedJob = Pick<SchedulerJob, 'id' | 'task' | 'maxInstances' | 'version' | 'overlap' | 'maxRuntimeSeconds'>;

/** How many runs of the job may run at once: maxInstances under `allow`, one under every other policy. */
export function runCap(job: Pick<SchedulerJob, 'maxInstances' | 'overlap'>): number {
  return job.overlap === 'allow' ? job.maxInstances : 1;
}

export interface ClaimRequest {
  job: ClaimedJob;
  scheduledFor: Date;
  trigger: RunTrigger;
  triggeredBy: string;
  owner: string;
  /** Scheduled and catch-up runs: the fire, claimed under the unique key. Manual runs: none. */
  fire: boolean;
  attempt?: number;
  /** Written as the summary of the row if it is recorded as skipped rather than run. */
  skipSummary?: Record<string, unknown>;
}

export type ClaimResult =
  /** Run it. `cancelled`: the runs this claim cancelled to make room (overlap cancel_other). */
  | { outcome: 'claimed'; run: JobRun; cancelled: AbandonedRun[] }
  /** Waits as the job's buffered fire (overlap buffer_one); `replaced`: the buffered fire it coalesced. */
  | { outcome: 'queued'; run: JobRun; replaced: { id: string; scheduledFor: Date }[]; running: RunningRun[] }
  /** The job was at max_instances: recorded as skipped (if this replica recorded it). */
  | { outcome: 'at-max-instances'; run: JobRun | undefined; running: RunningRun[] }
  /** Another replica had already claimed (or skipped) this fire, or the job is gone. */
  | { outcome: 'lost' }
  /** The stored job is paused or was changed since this replica read it: the fire belongs to a schedule that no longer holds. */
  | { outcome: 'stale' };

export interface RunningRun {
  id: string;
  startedAt: Date;
  trigger: string;
  owner: string | null;
}

/**
 * The run ledger: every run of every job is a row. Claims, leases and heartbeats live here; the
 * statements themselves are built in ledger-sql.ts, including whose clock a lease is measured by.
 */
@Injectable()
export class JobLedger {
  private readonly logger = new Logger('RunLedger');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {}

  private time(): LedgerTime {
    return { kind: this.db.kind, now: this.clock.now(), leaseSeconds: this.env.SCHEDULER_LEASE_SECONDS };
  }

  /** Text key of a fire: the scheduled instant in UTC to the millisecond. */
  static fireKey(at: Date): string {
    return at.toISOString();
  }

  /**
   * The claim. In one transaction, serialised per job (a row lock on PostgreSQL, the write queue on
   * SQLite): count the job's live runs (running with a lease not yet expired); below max_instances
   * insert the run as running, else as skipped. The insert is ON CONFLICT DO NOTHING against
   * (job_id, fire_key, attempt), so of all the replicas that try the same fire exactly one row goes
   * in, and only the replica whose row went in acts on it (runs it, or reports the skip).
   */
  claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.db.transaction(async (m) => {
      const lock = new SqlParams(this.db.kind);
      const forUpdate = this.db.kind === 'postgres' ? ' FOR UPDATE' : '';
      const jobRows: { paused: unknown; version: number | string }[] = await m.query(
        `SELECT paused, version FROM scheduler_job WHERE id = ${lock.add(request.job.id)}${forUpdate}`,
        lock.values,
      );
      if (jobRows.length === 0) return { outcome: 'lost' } as const;
      // A pause or a reschedule saved on another replica binds at once, not at this replica's next
      // sync: the row lock orders this claim after the change's transaction.
      const [stored] = jobRows;
      const changed = fromSqlBoolean(stored.paused) || Number(stored.version) !== request.job.version;
      if (request.fire && changed) return { outcome: 'stale' } as const;

      const live = liveRuns(this.time(), request.job.id);
      const liveRows: { id: string; started_at: unknown; trigger: string; owner: string | null }[] = await m.query(live.sql, live.params);
      const running: RunningRun[] = liveRows.map((r) => ({
        id: r.id,
        startedAt: fromSqlTimestamp(r.started_at)!,
        trigger: r.trigger,
        owner: r.owner,
      }));
      const now = this.clock.now();
      const run = this.newRun(request, now);
      const atCap = running.length >= runCap(request.job);
      // Overlap policies apply to fires; a manual run at the cap is refused (409), never buffered or cancelling.
      const policy = request.fire ? request.job.overlap : 'skip';

      if (!atCap || policy === 'cancel_other') {
        // The insert first: a replica second to this fire loses here, before it could cancel the run the first started for it.
        if (!(await this.insert(m, run, true))) return { outcome: 'lost' } as const;
        // Make room: the oldest runs are cancelled in this transaction, so the cap holds at commit.
        const victims = atCap ? running.slice(0, running.length - runCap(request.job) + 1).map((r) => r.id) : [];
        const why = `cancelled by the fire of ${run.scheduledFor.toISOString()} (overlap cancel_other)`;
        const cancelled = victims.length ? await this.takeAwayIn(m, victims, 'cancelled', why) : [];
        return { outcome: 'claimed', run, cancelled } as const;
      }
      if (policy === 'buffer_one') {
        const buffered = await this.buffered(m, request.job.id);
        const folded = buffered.reduce((n, b) => n + 1 + Number(b.summary?.coalescedFires ?? 0), 0);
        Object.assign(run, { status: 'queued', owner: null, deadlineAt: null, summary: { ...request.skipSummary } });
        if (folded > 0) run.summary = { ...run.summary, coalescedFires: Number(run.summary?.coalescedFires ?? 0) + folded };
        if (!(await this.insert(m, run, false))) return { outcome: 'lost' } as const;
        const replaced = await this.coalesceBuffered(m, buffered, run);
        return { outcome: 'queued', run, running, replaced } as const;
      }
      Object.assign(run, {
        status: 'skipped',
        finishedAt: now,
        durationMs: 0,
        deadlineAt: null,
        summary: {
          ...request.skipSummary,
          reason: 'max_instances',
          maxInstances: request.job.maxInstances,
          running: running.map((r) => r.id),
        },
      });
      if (!(await this.insert(m, run, false))) return { outcome: 'lost' } as const;
      return { outcome: 'at-max-instances', run, running } as const;
    });
  }

  private newRun(
    request: Omit<ClaimRequest, 'job' | 'owner' | 'skipSummary'> & {
      job: Pick<SchedulerJob, 'id' | 'task' | 'maxRuntimeSeconds'>;
      owner: string | null;
    },
    now: Date,
  ): JobRun {
    return {
      id: randomUUID(),
      jobId: request.job.id,
      task: request.job.task,
      scheduledFor: request.scheduledFor,
      fireKey: request.fire ? JobLedger.fireKey(request.scheduledFor) : null,
      attempt: request.attempt ?? 1,
      trigger: request.trigger,
      triggeredBy: request.triggeredBy,
      status: 'running',
      owner: request.owner,
      startedAt: now,
      heartbeatAt: now,
      leaseUntil: null,
      finishedAt: null,
      durationMs: null,
      summary: null,
      error: null,
      progress: null,
      deadlineAt: request.job.maxRuntimeSeconds ? new Date(now.getTime() + request.job.maxRuntimeSeconds * 1000) : null,
    };
  }

  /** The job's buffered fires (queued scheduled or catch-up fires; backfill fires queue apart). */
  private async buffered(
    m: EntityManager,
    jobId: string,
  ): Promise<{ id: string; scheduledFor: Date; summary: Record<string, unknown> | null }[]> {
    const p = new SqlParams(this.db.kind);
    const rows: { id: string; scheduled_for: unknown; summary: string | null }[] = await m.query(
      `SELECT id, scheduled_for, summary FROM job_run WHERE job_id = ${p.add(jobId)} AND status = 'queued' AND "trigger" IN ('scheduled', 'catch-up')`,
      p.values,
    );
    return rows.map((r) => ({
      id: r.id,
      scheduledFor: fromSqlTimestamp(r.scheduled_for)!,
      summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null,
    }));
  }

  /**
   * buffer_one keeps one fire waiting: the older buffered fire gives way to the newer, which stands
   * for both (as coalesce does). It is recorded skipped, saying which fire it was folded into.
   */
  private async coalesceBuffered(
    m: EntityManager,
    older: { id: string; scheduledFor: Date }[],
    into: JobRun,
  ): Promise<{ id: string; scheduledFor: Date }[]> {
    if (older.length === 0) return [];
    const p = new SqlParams(this.db.kind);
    const summary = { reason: 'coalesced', into: into.id, intoFire: into.scheduledFor.toISOString() };
    const sql = `UPDATE job_run SET status = 'skipped', finished_at = ${p.add(this.clock.now())}, duration_ms = 0, summary = ${p.add(JSON.stringify(summary))}
      WHERE status = 'queued' AND id IN (${older.map((r) => p.add(r.id)).join(', ')}) RETURNING id`;
    const done = new Set((await execute<{ id: string }>(m, sql, p.values)).records.map((r) => r.id));
    return older.filter((r) => done.has(r.id));
  }

  /** Records a fire that will not run (missed beyond its grace) under the fire's key; false if another replica already did. */
  recordSkipped(
    job: Pick<SchedulerJob, 'id' | 'task'>,
    scheduledFor: Date,
    trigger: RunTrigger,
    owner: string,
    summary: Record<string, unknown>,
  ): Promise<JobRun | undefined> {
    const now = this.clock.now();
    const run: JobRun = {
      id: randomUUID(),
      jobId: job.id,
      task: job.task,
      scheduledFor,
      fireKey: JobLedger.fireKey(scheduledFor),
      attempt: 1,
      trigger,
      triggeredBy: 'scheduler',
      status: 'skipped',
      owner,
      startedAt: now,
      heartbeatAt: now,
      leaseUntil: null,
      finishedAt: now,
      durationMs: 0,
      summary,
      error: null,
      progress: null,
      deadlineAt: null,
    };
    return this.db.transaction(async (m) => ((await this.insert(m, run, false)) ? run : undefined));
  }

  private async insert(m: EntityManager, run: JobRun, withLease: boolean): Promise<boolean> {
    const { sql, params } = insertRun(this.time(), run, withLease);
    return (await execute(m, sql, params)).affected > 0;
  }

  /**
   * How a run ended, recorded only if its row still says running. `lost`: its lease was taken away
   * meanwhile (another replica reaped it after a freeze, or this one gave it up at shutdown). The row
   * then stays as that was recorded, abandoned and already counted, and is what is answered.
   */
  async finish(
    run: JobRun,
    status: RunStatus,
    summary: Record<string, unknown> | null,
    error: string | null,
    progress?: RunProgress,
  ): Promise<{ run: JobRun; lost: boolean }> {
    const finishedAt = this.clock.now();
    const done: JobRun = {
      ...run,
      progress: progress ?? run.progress,
      status,
      summary,
      error: error === null ? null : maskEmails(error).slice(0, 4000),
      finishedAt,
      durationMs: Math.max(0, finishedAt.getTime() - run.startedAt.getTime()),
      leaseUntil: null,
    };
    const update = finishRun(this.time(), done);
    const { affected } = await persistently(`record the end (${status}) of run ${run.id}`, this.logger, () =>
      this.db.write(update.sql, update.params),
    );
    if (affected > 0) return { run: done, lost: false };
    // Taken away meanwhile: the row keeps the status that took it, and gains how far the run got.
    if (summary) {
      const late = lateSummary(this.db.kind, run.id, summary, progress);
      await this.db
        .write(late.sql, late.params)
        .catch((e: unknown) => this.logger.warn({ err: e, runId: run.id }, 'could not record how far the run got'));
    }
    const stored = (await this.get(run.id)) ?? { ...done, status: 'abandoned' };
    this.logger.warn(
      { runId: run.id, jobId: run.jobId, summary },
      `run ${run.id} of ${run.jobId} ended (${status}) after its lease had been taken away: it stays ${stored.status}, and another replica may have run the fire again`,
    );
    return { run: stored, lost: true };
  }

  /** Renews the leases of `runIds` that `owner` still holds, and answers those; the others were taken away. */
  async heartbeat(owner: string, runIds: string[]): Promise<string[]> {
    if (runIds.length === 0) return [];
    const { sql, params } = renewLeases(this.time(), owner, runIds);
    return (await this.db.write<{ id: string }>(sql, params)).records.map((r) => r.id);
  }

  /** Whether the run's row still says running (see leaseHeld). */
  async stillRunning(runId: string): Promise<boolean> {
    const p = new SqlParams(this.db.kind);
    const rows: unknown[] = await this.db.dataSource.query(
      `SELECT 1 AS held FROM job_run WHERE id = ${p.add(runId)} AND status = 'running'`,
      p.values,
    );
    return rows.length > 0;
  }

  /**
   * Marks abandoned the runs whose lease has run out (their replica died or hung) and answers the
   * ones this call marked. Each row is marked by exactly one replica: the UPDATE re-tests the status
   * of a row another replica is marking at the same moment.
   */
  async reapExpired(inFlightHere: string[]): Promise<AbandonedRun[]> {
    // This replica's own runs are reaped too once it no longer runs them (their end could not be
    // recorded), but never one still in flight here, whose lease merely lapsed while it was busy.
    const { sql, params } = reapExpired(this.time(), inFlightHere);
    return (await this.db.write(sql, params)).records.map(toAbandoned);
  }

  /**
   * Takes runs away (see ledger-sql takeAway) and answers those this call took: the caller counts
   * them, once. `audit` writes the audit entry in the same transaction.
   */
  takeAway(
    runIds: string[],
    status: TakenAwayStatus,
    reason: string,
    audit?: (m: EntityManager, taken: AbandonedRun[]) => Promise<unknown>,
  ): Promise<AbandonedRun[]> {
    if (runIds.length === 0) return Promise.resolve([]);
    return this.db.transaction(async (m) => {
      const taken = await this.takeAwayIn(m, runIds, status, reason);
      if (audit && taken.length) await audit(m, taken);
      return taken;
    });
  }

  private async takeAwayIn(m: EntityManager, runIds: string[], status: TakenAwayStatus, reason: string): Promise<AbandonedRun[]> {
    const { sql, params } = takeAway(this.time(), runIds, status, maskEmails(reason).slice(0, 4000));
    return (await execute(m, sql, params)).records.map(toAbandoned);
  }

  /** Of the runs in flight here, those taken away meanwhile (by another replica, an operator, the reaper). */
  async takenAway(runIds: string[]): Promise<AbandonedRun[]> {
    if (runIds.length === 0) return [];
    const { sql, params } = takenAway(this.db.kind, runIds);
    const rows: Record<string, unknown>[] = await this.db.dataSource.query(sql, params);
    return rows.map(toAbandoned);
  }

  async writeProgress(runId: string, progress: RunProgress): Promise<void> {
    const { sql, params } = writeProgress(this.db.kind, runId, progress);
    await this.db.write(sql, params);
  }

  /**
   * Starts the job's queued runs (buffered and backfill fires, oldest first) for which there is room
   * under its cap, as runs owned by `owner`. Serialised per job like the claim, so two replicas never
   * start the same queued run nor, together, more than the cap.
   */
  async startQueued(job: ClaimedJob, owner: string): Promise<JobRun[]> {
    // Most runs end with nothing queued: a plain read spares them the job's lock. A fire buffered
    // meanwhile (its claim saw the run still live) is started by the next reap, within a third of a lease.
    const probe = new SqlParams(this.db.kind);
    const waiting: unknown[] = await this.db.dataSource.query(
      `SELECT 1 AS x FROM job_run WHERE job_id = ${probe.add(job.id)} AND status = 'queued' LIMIT 1`,
      probe.values,
    );
    if (waiting.length === 0) return [];
    return this.db.transaction(async (m) => {
      const lock = new SqlParams(this.db.kind);
      const forUpdate = this.db.kind === 'postgres' ? ' FOR UPDATE' : '';
      const [stored]: { paused: unknown }[] = await m.query(
        `SELECT paused FROM scheduler_job WHERE id = ${lock.add(job.id)}${forUpdate}`,
        lock.values,
      );
      if (!stored || fromSqlBoolean(stored.paused)) return [];
      const live = liveRuns(this.time(), job.id);
      const room = runCap(job) - (await m.query(live.sql, live.params)).length;
      if (room <= 0) return [];
      const p = new SqlParams(this.db.kind);
      const queued: { id: string }[] = await m.query(
        `SELECT id FROM job_run WHERE job_id = ${p.add(job.id)} AND status = 'queued' ORDER BY scheduled_for, id LIMIT ${Math.floor(room)}`,
        p.values,
      );
      const started: JobRun[] = [];
      const now = this.clock.now();
      const deadlineAt = job.maxRuntimeSeconds ? new Date(now.getTime() + job.maxRuntimeSeconds * 1000) : null;
      for (const { id } of queued) {
        const { sql, params } = startQueued(this.time(), id, owner, deadlineAt);
        if ((await execute(m, sql, params)).affected === 0) continue;
        const run = await m.findOneBy(JobRun, { id });
        if (run) started.push(run);
      }
      return started;
    });
  }

  /** Jobs with queued runs. */
  async queuedJobs(): Promise<string[]> {
    const rows: { job_id: string }[] = await this.db.dataSource.query(`SELECT DISTINCT job_id FROM job_run WHERE status = 'queued'`);
    return rows.map((r) => r.job_id);
  }

  /**
   * Queues the given fires of a job as backfill runs, oldest first, each under its fire key: a fire
   * already in the ledger (run, skipped, queued, from any trigger) is left as it is. Answers the
   * fires queued now.
   */
  queueFires(
    job: Pick<SchedulerJob, 'id' | 'task'>,
    fires: Date[],
    triggeredBy: string,
    audit: (m: EntityManager, created: Date[]) => Promise<unknown>,
  ): Promise<Date[]> {
    return this.db.transaction(async (m) => {
      const created: Date[] = [];
      const now = this.clock.now();
      for (const at of fires) {
        // Queued: no owner and no deadline until a replica starts it (startQueued).
        const run: JobRun = {
          ...this.newRun(
            { job: { ...job, maxRuntimeSeconds: null }, scheduledFor: at, trigger: 'backfill', triggeredBy, owner: null, fire: true },
            now,
          ),
          status: 'queued',
        };
        if (await this.insert(m, run, false)) created.push(at);
      }
      await audit(m, created);
      return created;
    });
  }

  /** Which of these fires of the job the ledger already has (any attempt, any status). */
  async firesInLedger(jobId: string, fires: Date[]): Promise<Set<string>> {
    const known = new Set<string>();
    // In chunks: SQLite binds at most 32766 parameters, older builds 999.
    for (let i = 0; i < fires.length; i += 500) {
      const p = new SqlParams(this.db.kind);
      const keys = fires.slice(i, i + 500).map((at) => p.add(JobLedger.fireKey(at)));
      const rows: { fire_key: string }[] = await this.db.dataSource.query(
        `SELECT DISTINCT fire_key FROM job_run WHERE job_id = ${p.add(jobId)} AND fire_key IN (${keys.join(', ')})`,
        p.values,
      );
      for (const r of rows) known.add(r.fire_key);
    }
    return known;
  }

  /** The statuses of the job's last `n` runs that ran to an end of their own (succeeded, failed, timed out), newest first. */
  async lastOutcomes(jobId: string, n: number): Promise<{ id: string; status: RunStatus; error: string | null }[]> {
    const p = new SqlParams(this.db.kind);
    return this.db.dataSource.query(
      `SELECT id, status, error FROM job_run WHERE job_id = ${p.add(jobId)} AND status IN ('succeeded', 'failed', 'timed_out')
        ORDER BY finished_at DESC, id DESC LIMIT ${Math.floor(n)}`,
      p.values,
    );
  }

  /**
   * Abandoned fires worth running again: the latest attempt of a fire, abandoned, with attempts
   * left, not older than `since`, and not overtaken by a later fire of the same job that ran or is
   * running (a later cleanup deletes everything an earlier one would have; a later notice run
   * covers the same cleanups).
   */
  async abandonedFires(since: Date): Promise<AbandonedRun[]> {
    const { sql, params } = abandonedFires(this.db.kind, since, MAX_ATTEMPTS);
    const rows: Record<string, unknown>[] = await this.db.dataSource.query(sql, params);
    return rows.map(toAbandoned);
  }

  /** The latest fire of a job the ledger knows of (run, skipped or abandoned): catch-up starts after it. */
  async lastFire(jobId: string): Promise<Date | undefined> {
    const p = new SqlParams(this.db.kind);
    const [row] = await this.db.dataSource.query(
      `SELECT MAX(scheduled_for) AS last FROM job_run WHERE job_id = ${p.add(jobId)} AND fire_key IS NOT NULL`,
      p.values,
    );
    return fromSqlTimestamp(row?.last);
  }

  async latest(jobId: string, status?: RunStatus): Promise<JobRun | undefined> {
    const qb = this.db.dataSource.getRepository(JobRun).createQueryBuilder('r').where('r.job_id = :jobId', { jobId });
    if (status) qb.andWhere('r.status = :status', { status });
    return (await qb.orderBy('r.started_at', 'DESC').addOrderBy('r.id', 'DESC').limit(1).getOne()) ?? undefined;
  }

  async lastSuccess(jobId: string): Promise<Date | undefined> {
    const p = new SqlParams(this.db.kind);
    const [row] = await this.db.dataSource.query(
      `SELECT MAX(finished_at) AS last FROM job_run WHERE job_id = ${p.add(jobId)} AND status = 'succeeded'`,
      p.values,
    );
    return fromSqlTimestamp(row?.last);
  }

  get(id: string): Promise<JobRun | null> {
    return this.db.dataSource.getRepository(JobRun).findOneBy({ id });
  }

  list(jobId: string, limit: number, cursor?: string, status?: RunStatus): Promise<Page<JobRun>> {
    const qb = this.db.dataSource.getRepository(JobRun).createQueryBuilder('r').where('r.job_id = :jobId', { jobId });
    if (status) qb.andWhere('r.status = :status', { status });
    return keysetPage(qb, { at: 'r.started_at', id: 'r.id', order: 'DESC' }, limit, cursor, (r) => ({ at: r.startedAt, id: r.id }));
  }

  async exists(jobId: string): Promise<boolean> {
    return (await this.db.dataSource.getRepository(JobRun).countBy({ jobId })) > 0;
  }

  /** Drops ledger rows older than JOB_RUN_RETENTION_DAYS (never a running one). */
  async purge(): Promise<number> {
    const p = new SqlParams(this.db.kind);
    const before = new Date(this.clock.now().getTime() - this.env.JOB_RUN_RETENTION_DAYS * 86_400_000);
    const sql = `DELETE FROM job_run WHERE started_at < ${p.add(before)} AND status NOT IN ('running', 'queued')`;
    const n = (await this.db.write(sql, p.values)).affected;
    if (n > 0) this.logger.log(`${n} run ledger row(s) older than ${this.env.JOB_RUN_RETENTION_DAYS} days purged`);
    return n;
  }
}

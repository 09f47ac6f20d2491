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
import { JobRun, RunStatus, RunTrigger } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import {
  AbandonedRun,
  abandonedFires,
  finishRun,
  insertRun,
  LedgerTime,
  liveRuns,
  reapExpired,
  releaseRuns,
  renewLeases,
  toAbandoned,
} from './ledger-sql';

export type { AbandonedRun };

/**
 * An abandoned attempt of a fire is run again at most this many times in all (a fire that kills its
 * replica every time must not take the whole cluster down in turn).
 */
export const MAX_ATTEMPTS = 3;

export interface ClaimRequest {
  job: Pick<SchedulerJob, 'id' | 'task' | 'maxInstances' | 'version'>;
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
  | { outcome: 'claimed'; run: JobRun }
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
      const full = running.length >= request.job.maxInstances;

      const now = this.clock.now();
      const run: JobRun = {
        id: randomUUID(),
        jobId: request.job.id,
        task: request.job.task,
        scheduledFor: request.scheduledFor,
        fireKey: request.fire ? JobLedger.fireKey(request.scheduledFor) : null,
        attempt: request.attempt ?? 1,
        trigger: request.trigger,
        triggeredBy: request.triggeredBy,
        status: full ? 'skipped' : 'running',
        owner: request.owner,
        startedAt: now,
        heartbeatAt: now,
        leaseUntil: null,
        finishedAt: full ? now : null,
        durationMs: full ? 0 : null,
        summary: full
          ? { ...request.skipSummary, reason: 'max_instances', maxInstances: request.job.maxInstances, running: running.map((r) => r.id) }
          : null,
        error: null,
      };
      const inserted = await this.insert(m, run, !full);
      if (!inserted) return { outcome: 'lost' } as const;
      if (full) return { outcome: 'at-max-instances', run, running } as const;
      return { outcome: 'claimed', run } as const;
    });
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
  ): Promise<{ run: JobRun; lost: boolean }> {
    const finishedAt = this.clock.now();
    const done: JobRun = {
      ...run,
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

  /** Gives up runs this replica could not finish before shutting down; another replica reruns them. */
  async release(runIds: string[], reason: string): Promise<number> {
    if (runIds.length === 0) return 0;
    const { sql, params } = releaseRuns(this.time(), runIds, reason);
    return (await this.db.write(sql, params)).affected;
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
    const sql = `DELETE FROM job_run WHERE started_at < ${p.add(before)} AND status <> 'running'`;
    const n = (await this.db.write(sql, p.values)).affected;
    if (n > 0) this.logger.log(`${n} run ledger row(s) older than ${this.env.JOB_RUN_RETENTION_DAYS} days purged`);
    return n;
  }
}

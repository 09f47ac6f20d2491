import { Injectable, Logger } from '@nestjs/common';
import { CleanupCalendar } from '../cleanup/cleanup-calendar';
import { Clock } from '../common/clock';
import { CronSchedule } from '../common/cron';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { JobRun } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobMonitor } from './job-monitor';
import { BUILTIN_JOBS, DEFAULT_JOB_OPTIONS } from './jobs';
import { JobLedger } from './ledger.service';

export interface LiveJob {
  def: SchedulerJob;
  schedule: CronSchedule | null;
  /** Every fire at or before this has been dealt with (claimed, skipped or lost to another replica). */
  considered: Date;
  /** The first fire after `considered`; null when paused or never. */
  nextFire: Date | null;
  lastRun?: JobRun;
  /** Why the stored schedule cannot be used, if it cannot. */
  problem?: string;
}

/**
 * The stored jobs as this replica knows them: seeds the built-in ones, re-reads the table (so a
 * change made on any replica applies here), and keeps for each job where its schedule stands.
 */
@Injectable()
export class JobCatalogue {
  private readonly logger = new Logger('Scheduler');
  private readonly live = new Map<string, LiveJob>();
  private changed?: () => void;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly ledger: JobLedger,
    private readonly monitor: JobMonitor,
  ) {}

  /** Called when a job's next fire may have moved (the timers re-arm); undefined stops the calls. */
  onChange(callback: (() => void) | undefined): void {
    this.changed = callback;
  }

  jobs(): LiveJob[] {
    // Built-in jobs first, in the original service's order; then added ones, oldest first.
    const builtinOrder = BUILTIN_JOBS(this.env).map((b) => b.id);
    const rank = (job: LiveJob) => (job.def.builtin ? builtinOrder.indexOf(job.def.id) : builtinOrder.length);
    return [...this.live.values()].sort(
      (a, b) => rank(a) - rank(b) || a.def.createdAt.getTime() - b.def.createdAt.getTime() || a.def.id.localeCompare(b.def.id),
    );
  }

  job(id: string): LiveJob | undefined {
    return this.live.get(id);
  }

  /** The next fire this replica is waiting for, across all jobs. */
  nextDue(): Date | null {
    let next: Date | null = null;
    for (const job of this.live.values()) {
      if (job.def.paused || !job.nextFire) continue;
      if (!next || job.nextFire < next) next = job.nextFire;
    }
    return next;
  }

  /** When the active cleanup jobs will run: what the notices warn about and the preview shows. */
  cleanupCalendar(): CleanupCalendar {
    const schedules = [...this.live.values()]
      .filter((j) => j.def.task === 'cleanup' && !j.def.paused && j.schedule)
      .map((j) => j.schedule!);
    return new CleanupCalendar(schedules);
  }

  /** The built-in jobs exist, and follow CLEANUP_CRON / NOTIFY_CRON / SCHEDULER_TIMEZONE until an operator sets their schedule. */
  async ensureBuiltins(): Promise<void> {
    const now = this.clock.now();
    for (const b of BUILTIN_JOBS(this.env)) {
      await this.db.transaction(async (m) => {
        await m
          .createQueryBuilder()
          .insert()
          .into(SchedulerJob)
          .values({
            id: b.id,
            name: b.name,
            task: b.task,
            cron: b.cron,
            timezone: this.env.SCHEDULER_TIMEZONE,
            paused: false,
            ...DEFAULT_JOB_OPTIONS,
            builtin: true,
            scheduleOverridden: false,
            version: 1,
            createdAt: now,
            updatedAt: now,
          })
          .orIgnore()
          .execute();
        const row = await m.findOneByOrFail(SchedulerJob, { id: b.id });
        const envSchedule = `${b.cron} (${this.env.SCHEDULER_TIMEZONE})`;
        if (row.cron === b.cron && row.timezone === this.env.SCHEDULER_TIMEZONE) return;
        if (row.scheduleOverridden) {
          this.logger.warn(
            `${b.id} keeps the schedule an operator set, ${row.cron} (${row.timezone}); ${b.envName}/SCHEDULER_TIMEZONE say ${envSchedule}`,
          );
          return;
        }
        await m.update(
          SchedulerJob,
          { id: b.id, version: row.version },
          { cron: b.cron, timezone: this.env.SCHEDULER_TIMEZONE, version: row.version + 1, updatedAt: now },
        );
        this.logger.log(`${b.id} now runs on ${envSchedule}, from ${b.envName}/SCHEDULER_TIMEZONE (was ${row.cron} (${row.timezone}))`);
      });
    }
  }

  /** Re-reads the stored jobs: changes made on any replica apply here. */
  async sync(): Promise<void> {
    const rows = await this.db.dataSource.getRepository(SchedulerJob).find();
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      const job = this.live.get(row.id);
      if (!job) await this.adopt(row);
      else if (job.def.version !== row.version) this.apply(job, row);
      const current = this.live.get(row.id)!;
      current.lastRun = (await this.ledger.latest(row.id)) ?? current.lastRun;
      // Any replica's success counts: the dead-man alert must not fire because another replica ran the job.
      this.monitor.lastSucceeded(row.id, await this.ledger.lastSuccess(row.id));
    }
    for (const id of [...this.live.keys()]) {
      if (!seen.has(id)) this.forget(id);
    }
    this.changed?.();
  }

  /** Adds or replaces a job this replica just wrote (the others pick it up at their next sync). */
  async applyNow(row: SchedulerJob): Promise<void> {
    const job = this.live.get(row.id);
    if (job) this.apply(job, row);
    else await this.adopt(row);
    this.changed?.();
  }

  forget(id: string): void {
    this.live.delete(id);
    this.monitor.forget(id);
    this.changed?.();
  }

  /** Every fire up to `now` of this very definition has been dealt with; `nextFire` is the next one to wait for. */
  advance(job: LiveJob, def: SchedulerJob, now: Date, nextFire: Date | null): void {
    // A job changed or removed meanwhile has been re-planned from its new definition: leave it be.
    if (this.live.get(def.id) !== job || job.def !== def) return;
    job.considered = now;
    job.nextFire = nextFire;
    this.monitor.next(def.id, nextFire);
  }

  /** The run is the job's latest here, unless a later-started one already is. */
  noteRun(run: JobRun): void {
    const job = this.live.get(run.jobId);
    if (job && (!job.lastRun || job.lastRun.id === run.id || job.lastRun.startedAt <= run.startedAt)) job.lastRun = run;
  }

  /** A job this replica has not seen yet: catch-up starts after the latest fire in the ledger, and never before the job's last change. */
  private async adopt(row: SchedulerJob): Promise<void> {
    const lastFire = await this.ledger.lastFire(row.id);
    const considered = lastFire && lastFire > row.updatedAt ? lastFire : row.updatedAt;
    const job: LiveJob = { def: row, schedule: null, considered, nextFire: null };
    this.live.set(row.id, job);
    this.apply(job, row);
    this.monitor.known(row.id);
  }

  /**
   * Applies a stored definition. Fires before the change belong to the old schedule (or to the
   * pause): catch-up never reaches back before updated_at.
   */
  private apply(job: LiveJob, row: SchedulerJob): void {
    job.def = row;
    if (row.updatedAt > job.considered) job.considered = row.updatedAt;
    try {
      job.schedule = CronSchedule.parse(row.cron, row.timezone);
      job.problem = undefined;
    } catch (error) {
      job.schedule = null;
      job.problem = error instanceof Error ? error.message : String(error);
      this.logger.error(`job ${row.id} has an unusable schedule (${row.cron} in ${row.timezone}): ${job.problem}; it will not fire`);
    }
    job.nextFire = row.paused || !job.schedule ? null : job.schedule.next(job.considered);
    this.monitor.paused(row.id, row.paused);
    this.monitor.next(row.id, job.nextFire);
    this.monitor.scheduled(row.id, job.schedule, job.nextFire);
  }
}

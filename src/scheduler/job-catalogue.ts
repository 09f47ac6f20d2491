import { Injectable, Logger } from '@nestjs/common';
import { FireCalendar } from '../common/cron/fire-calendar';
import { Clock } from '../common/clock';
import { CronSchedule } from '../common/cron';
import { Env, noticeGapProblem } from '../config/env.validation';
import { Database } from '../database/database.service';
import { JobRun } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobMonitor } from './job-monitor';
import { BuiltinJob, builtinJobs, compareBuiltinIds, DEFAULT_JOB_OPTIONS } from './jobs';
import { JobLedger } from './ledger.service';
import { TaskRegistry } from './tasks';

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
    private readonly tasks: TaskRegistry,
  ) {}

  /** Called when a job's next fire may have moved (the timers re-arm); undefined stops the calls. */
  onChange(callback: (() => void) | undefined): void {
    this.changed = callback;
  }

  jobs(): LiveJob[] {
    // Built-in jobs first, the original service's in its order, then the other declared ones by id; then added ones, oldest first.
    return [...this.live.values()].sort(
      (a, b) =>
        Number(b.def.builtin) - Number(a.def.builtin) ||
        (a.def.builtin ? compareBuiltinIds(a.def.id, b.def.id) : 0) ||
        a.def.createdAt.getTime() - b.def.createdAt.getTime() ||
        a.def.id.localeCompare(b.def.id),
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
  cleanupCalendar(): FireCalendar {
    return this.calendarOf('cleanup');
  }

  /** Both calendars, as a task is handed them. */
  calendars(): { cleanups: FireCalendar; notices: FireCalendar } {
    return { cleanups: this.cleanupCalendar(), notices: this.noticeCalendar() };
  }

  /** When the active notice jobs will run: a digest covers whatever cannot wait for the next one. */
  noticeCalendar(): FireCalendar {
    return this.calendarOf('notices');
  }

  private calendarOf(task: string): FireCalendar {
    const schedules = [...this.live.values()].filter((j) => j.def.task === task && !j.def.paused && j.schedule).map((j) => j.schedule!);
    return new FireCalendar(schedules);
  }

  /**
   * Every @Cron-declared method is a built-in job: stored once (claimed across replicas like any job),
   * following its configured schedule (jobs.ts, builtinJobs: CLEANUP_CRON / NOTIFY_CRON /
   * SCHEDULER_TIMEZONE, else the @Cron expression and zone) until an operator sets one.
   */
  async ensureBuiltins(): Promise<void> {
    const declared = builtinJobs(this.tasks.list(), this.env);
    for (const b of declared) await this.ensureBuiltin(b);
    const ids = new Set(declared.map((b) => b.id));
    const orphans = await this.db.dataSource.getRepository(SchedulerJob).findBy({ builtin: true });
    for (const row of orphans.filter((r) => !ids.has(r.id))) {
      this.logger.warn(
        `${row.id} is a built-in job, but no @Cron method declares it in this version: its runs fail (task "${row.task}" is not registered). Pause or delete it.`,
      );
    }
  }

  private async ensureBuiltin(b: BuiltinJob): Promise<void> {
    const now = this.clock.now();
    const configured = `${b.cron} (${b.timezone}), from ${b.cronFrom === b.timezoneFrom ? b.cronFrom : `${b.cronFrom} and ${b.timezoneFrom}`}`;
    return this.db.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(SchedulerJob)
        .values({
          id: b.id,
          name: b.name,
          task: b.task,
          cron: b.cron,
          timezone: b.timezone,
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
      if (!row.builtin) {
        this.logger.error(
          `${b.id} is declared with @Cron, but a job added through the API has that id (task "${row.task}"): the declaration is not applied. Delete the added job, or rename the @Cron.`,
        );
        return;
      }
      if (b.task === 'notices') this.checkNoticeSchedule(b, row);
      const change: Partial<SchedulerJob> = {};
      // The declaration owns a built-in job's task (a renamed @JobTask would otherwise leave it running a task that is gone).
      if (row.task !== b.task) change.task = b.task;
      if (row.scheduleOverridden) {
        if (row.cron !== b.cron || row.timezone !== b.timezone)
          this.logger.warn(
            `${b.id} keeps the schedule an operator set, ${row.cron} (${row.timezone}); the configuration says ${configured}`,
          );
      } else if (row.cron !== b.cron || row.timezone !== b.timezone) {
        Object.assign(change, { cron: b.cron, timezone: b.timezone });
      }
      if (Object.keys(change).length === 0) return;
      await m.update(SchedulerJob, { id: b.id, version: row.version }, { ...change, version: row.version + 1, updatedAt: now });
      if (change.task) this.logger.log(`${b.id} now runs task "${b.task}", as declared (was "${row.task}")`);
      if (change.cron) this.logger.log(`${b.id} now runs on ${configured} (was ${row.cron} (${row.timezone}))`);
    });
  }

  /**
   * The notice job's schedule, wherever it came from, must fire at least every NOTICE_DAYS_BEFORE days
   * (the rule NOTIFY_CRON is held to at boot, and an operator's change through the API). A configured
   * one that breaks it stops the start; a stored one, set by an operator when it was fine (NOTICE_DAYS_BEFORE
   * was lowered since), is kept and reported: an operator can fix it through the API.
   */
  private checkNoticeSchedule(b: BuiltinJob, row: SchedulerJob): void {
    const [cron, timezone] = row.scheduleOverridden ? [row.cron, row.timezone] : [b.cron, b.timezone];
    const problem = noticeGapProblem(cron, timezone, this.env.NOTICE_DAYS_BEFORE, this.clock.now());
    if (!problem) return;
    // Thrown inside the transaction: nothing of it is stored, and the start stops.
    if (!row.scheduleOverridden) throw new Error(`${b.id}: its schedule ${problem} (cron from ${b.cronFrom}, zone from ${b.timezoneFrom})`);
    this.logger.error(`${b.id}: the schedule an operator set ${problem}; change it (PATCH /admin/scheduler/jobs/${b.id})`);
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

import { ConflictException, Injectable, Logger, NotFoundException, OnModuleDestroy, ServiceUnavailableException, BadRequestException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CleanupSchedule } from '../cleanup/cleanup-schedule';
import { Clock } from '../common/clock';
import { CronSchedule } from '../common/cron';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { JobEvents, JobEventsListener } from './job-events';
import { JobRun, RunTrigger } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobLedger } from './ledger.service';
import { TaskFailed, TaskRegistry } from './tasks';

export const BUILTIN_JOBS = (env: Env) => [
  { id: 'daily_data_cleanup', name: 'Daily Data Cleanup', task: 'cleanup', cron: env.CLEANUP_CRON, envName: 'CLEANUP_CRON' },
  { id: 'cleanup_notifications', name: 'Cleanup Warning Notifications', task: 'notices', cron: env.NOTIFY_CRON, envName: 'NOTIFY_CRON' },
];

/**
 * Job option defaults. APScheduler's meanings, better values than the old service's
 * (max_instances 3, coalesce false, misfire grace 30 s, which silently dropped a daily run missed by
 * half a minute):
 * - max_instances 1: two cleanups at once only compete for the same rows.
 * - coalesce: fires missed during downtime run once, as the latest of them.
 * - misfire grace: none (null). Both tasks are safe to run late: the cleanup's cutoff comes from the
 *   scheduled time, so a late run deletes exactly what the missed one would have, and the notices
 *   look ahead from when they run. A cleanup missed at midnight therefore runs as soon as a replica
 *   is up, not a day later. An operator can set a grace per job.
 */
export const DEFAULT_JOB_OPTIONS = { maxInstances: 1, coalesce: true, misfireGraceSeconds: null as number | null };

/** Most runs one non-coalescing job starts for fires missed at once; older ones count as missed. */
const MAX_CATCH_UP_RUNS = 100;
/** Fires looked at per job per tick (a 1-second cron after a long outage); beyond, counted as missed in bulk. */
const FIRE_SCAN_LIMIT = 1_000_000;
/** Abandoned fires older than this are not run again (a later fire has long covered them). */
const RERUN_WINDOW_MS = 2 * 86_400_000;
const PURGE_EVERY_MS = 3_600_000;

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

export interface RunNowOptions {
  trigger: Extract<RunTrigger, 'manual' | 'cli'>;
  triggeredBy: string;
  dryRun?: boolean;
  /** The time the run stands for (a cleanup computes its cutoff from it); defaults to now. */
  at?: Date;
}

export interface RunResult {
  run: JobRun;
  /** The task's own record (the cleanup report, the notice job summary). */
  result?: unknown;
}

/**
 * The scheduler's engine: keeps the stored jobs, decides which fires are due, claims them in the
 * ledger, runs the winners and records how they ended. Time comes from the injected clock and
 * nothing here arms a timer, so tests drive it with tick(); SchedulerTimers does that for real.
 */
@Injectable()
export class SchedulerService implements OnModuleDestroy {
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger('Scheduler');
  private readonly live = new Map<string, LiveJob>();
  private readonly inFlight = new Map<string, { run: JobRun; done: Promise<RunResult> }>();
  private bootAt = new Date(0);
  private started = false;
  private stopping = false;
  private drained?: Promise<void>;
  private ticking?: Promise<boolean>;
  private lastPurge = 0;
  private changed?: () => void;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly ledger: JobLedger,
    private readonly tasks: TaskRegistry,
    private readonly events: JobEvents,
    private readonly listener: JobEventsListener,
    private readonly cleanupSchedule: CleanupSchedule,
  ) {}

  /** Whether this replica claims and runs scheduled fires (the old status's scheduler_running). */
  get running(): boolean {
    return this.env.SCHEDULER_ENABLED && this.started && !this.stopping;
  }

  /** SCHEDULER_TIMEZONE: the zone of the built-in jobs and the default of added ones. */
  get defaultTimeZone(): string {
    return this.env.SCHEDULER_TIMEZONE;
  }

  /** Called when a job's next fire may have moved (the timers re-arm). */
  onChange(callback: () => void): void {
    this.changed = callback;
  }

  async start(): Promise<void> {
    this.bootAt = this.clock.now();
    await this.ensureBuiltins();
    await this.sync();
    this.cleanupSchedule.use((from, until, max) => this.cleanupTimes(from, until, max));
    this.started = true;
    if (this.env.SCHEDULER_ENABLED) {
      const lines = [...this.live.values()].map((j) => `${j.def.id} ${j.def.paused ? 'paused' : `next ${j.nextFire?.toISOString() ?? 'never'}`}`);
      this.logger.log(`scheduler started on ${this.instanceId}: ${lines.join('; ')}`);
    } else {
      this.logger.log('SCHEDULER_ENABLED=false: this replica runs no scheduled fires (manual triggers still work)');
    }
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

  /** The built-in jobs exist, and follow CLEANUP_CRON / NOTIFY_CRON / SCHEDULER_TIMEZONE until an operator sets their schedule. */
  private async ensureBuiltins(): Promise<void> {
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
          this.logger.warn(`${b.id} keeps the schedule an operator set, ${row.cron} (${row.timezone}); ${b.envName}/SCHEDULER_TIMEZONE say ${envSchedule}`);
          return;
        }
        await m.update(SchedulerJob, { id: b.id, version: row.version }, { cron: b.cron, timezone: this.env.SCHEDULER_TIMEZONE, version: row.version + 1, updatedAt: now });
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
      this.listener.lastSucceeded(row.id, await this.ledger.lastSuccess(row.id));
    }
    for (const id of [...this.live.keys()]) {
      if (!seen.has(id)) this.forget(id);
    }
    if (this.env.SCHEDULER_ENABLED && this.clock.now().getTime() - this.lastPurge > PURGE_EVERY_MS) {
      this.lastPurge = this.clock.now().getTime();
      await this.ledger.purge();
    }
    this.changed?.();
  }

  /** A job this replica has not seen yet: catch-up starts after the latest fire in the ledger, and never before the job's last change. */
  private async adopt(row: SchedulerJob): Promise<void> {
    const lastFire = await this.ledger.lastFire(row.id);
    const considered = lastFire && lastFire > row.updatedAt ? lastFire : row.updatedAt;
    const job: LiveJob = { def: row, schedule: null, considered, nextFire: null };
    this.live.set(row.id, job);
    this.apply(job, row);
    this.listener.known(row.id);
  }

  /**
   * Applies a stored definition. Fires before the change belong to the old schedule (or to the
   * pause): catch-up never reaches back before updated_at.
   */
  apply(job: LiveJob, row: SchedulerJob): void {
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
    this.listener.next(row.id, job.nextFire);
    this.listener.scheduled(row.id, job.schedule, job.nextFire);
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
    this.listener.forget(id);
    this.changed?.();
  }

  /** Cleanup fire times of every active cleanup job, merged: what the notices warn about and the preview shows. */
  private cleanupTimes(from: Date, until: Date, max: number): Date[] {
    const all = new Map<number, Date>();
    for (const job of this.live.values()) {
      if (job.def.task !== 'cleanup' || job.def.paused || !job.schedule) continue;
      for (const at of job.schedule.between(from, until, max)) all.set(at.getTime(), at);
    }
    return [...all.values()].sort((a, b) => a.getTime() - b.getTime()).slice(0, max);
  }

  /**
   * Deals with every fire due by `now`: claims it, and runs what this replica won. Answers false if
   * some job's fires could not be dealt with (the database is down): they stay due, and the next
   * tick tries them again (claims already made simply lose to themselves under the unique key).
   */
  tick(now: Date = this.clock.now()): Promise<boolean> {
    if (!this.running) return Promise.resolve(true);
    if (this.ticking) return this.ticking;
    this.ticking = (async () => {
      let ok = true;
      for (const job of [...this.live.values()]) {
        if (job.def.paused || !job.nextFire || job.nextFire > now) continue;
        try {
          await this.processDue(job, now);
        } catch (error) {
          ok = false;
          this.logger.error({ err: error, jobId: job.def.id }, `could not process the due fires of ${job.def.id}; retrying on the next tick`);
        }
      }
      return ok;
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async processDue(job: LiveJob, now: Date): Promise<void> {
    const schedule = job.schedule!;
    const def = job.def;
    const graceMs = def.misfireGraceSeconds === null ? Infinity : def.misfireGraceSeconds * 1000;
    const keep = def.coalesce ? 1 : MAX_CATCH_UP_RUNS;
    const due: Date[] = [];
    let coalesced = 0;
    const missed = { count: 0, first: undefined as Date | undefined, latest: undefined as Date | undefined };
    const miss = (at: Date) => {
      missed.count += 1;
      missed.first ??= at;
      if (!missed.latest || at > missed.latest) missed.latest = at;
    };
    let cursor = job.considered;
    for (let scanned = 0; scanned < FIRE_SCAN_LIMIT; ) {
      const chunk = schedule.between(cursor, now, 1000);
      scanned += chunk.length;
      for (const at of chunk) {
        if (now.getTime() - at.getTime() > graceMs) {
          miss(at);
          continue;
        }
        due.push(at);
        if (due.length > keep) {
          const dropped = due.shift()!;
          if (def.coalesce) coalesced += 1;
          else miss(dropped);
        }
      }
      if (chunk.length < 1000) break;
      cursor = chunk[chunk.length - 1];
    }
    const trigger = (at: Date): RunTrigger => (at < this.bootAt ? 'catch-up' : 'scheduled');
    if (missed.count > 0 && missed.latest) {
      const summary = {
        reason: 'missed',
        missedFires: missed.count,
        firstMissed: missed.first!.toISOString(),
        lastMissed: missed.latest.toISOString(),
        misfireGraceSeconds: def.misfireGraceSeconds,
      };
      const row = await this.ledger.recordSkipped(def, missed.latest, trigger(missed.latest), this.instanceId, summary);
      if (row) {
        this.events.emit('missed', { jobId: def.id, count: missed.count, first: missed.first!, latest: missed.latest, graceSeconds: def.misfireGraceSeconds ?? 0 });
        job.lastRun = row;
      }
    }
    for (const at of due) {
      await this.claimFire(job, at, trigger(at), 1, coalesced > 0 && at === due[due.length - 1] ? { coalescedFires: coalesced } : {});
    }
    // Only now, with every fire claimed or recorded: had the database failed above, they stay due.
    if (this.live.get(def.id) === job && job.def === def) {
      job.considered = now;
      job.nextFire = schedule.next(now);
      this.listener.next(def.id, job.nextFire);
    }
  }

  private async claimFire(job: LiveJob, at: Date, trigger: RunTrigger, attempt: number, extra: Record<string, unknown> = {}): Promise<void> {
    const claim = await this.ledger.claim({
      job: job.def,
      scheduledFor: at,
      trigger,
      triggeredBy: 'scheduler',
      owner: this.instanceId,
      fire: true,
      attempt,
      skipSummary: extra,
    });
    if (claim.outcome === 'lost') {
      this.logger.debug(`fire ${at.toISOString()} of ${job.def.id} was claimed by another replica`);
      return;
    }
    if (claim.outcome === 'stale') {
      this.logger.log(`fire ${at.toISOString()} of ${job.def.id} not run: the job was paused or changed on another replica; re-reading the jobs`);
      void this.sync().catch((error: unknown) => this.logger.error({ err: error }, 'could not re-read the jobs'));
      return;
    }
    if (claim.outcome === 'at-max-instances') {
      this.events.emit('max_instances', { jobId: job.def.id, scheduledFor: at, run: claim.run, running: claim.running });
      if (claim.run) job.lastRun = claim.run;
      return;
    }
    void this.execute(job.def, claim.run, false, extra);
  }

  /** Runs a claimed run to its end and records the end. Never rejects. */
  private execute(def: SchedulerJob, run: JobRun, dryRun: boolean, extra: Record<string, unknown> = {}): Promise<RunResult> {
    const task = this.tasks.find(def.task);
    const live = this.live.get(def.id);
    if (live) live.lastRun = run;
    this.events.emit('started', run);
    const done = (async (): Promise<RunResult> => {
      let status: 'succeeded' | 'failed' = 'succeeded';
      let summary: Record<string, unknown> | null = Object.keys(extra).length ? { ...extra } : null;
      let result: unknown;
      let error: string | null = null;
      try {
        if (!task) throw new Error(`task "${def.task}" is not registered in this version of the service`);
        const outcome = await task.run({ jobId: def.id, runId: run.id, scheduledFor: run.scheduledFor, trigger: run.trigger, triggeredBy: run.triggeredBy, dryRun });
        summary = { ...extra, ...outcome.summary };
        result = outcome.result;
      } catch (e) {
        status = 'failed';
        error = e instanceof Error ? e.message : String(e);
        if (e instanceof TaskFailed) {
          summary = { ...extra, ...e.outcome.summary };
          result = e.outcome.result;
        }
      }
      let final: JobRun = { ...run, status, summary, error, finishedAt: this.clock.now() };
      try {
        final = await this.ledger.finish(run, status, summary, error);
      } catch (e) {
        // The row stays "running" until its lease runs out; another replica then marks it abandoned.
        this.logger.error({ err: e, runId: run.id }, `could not record the end (${status}) of run ${run.id} of ${def.id}`);
      }
      this.events.emit(status, final);
      const current = this.live.get(def.id);
      if (current && (!current.lastRun || current.lastRun.id === run.id || current.lastRun.startedAt <= final.startedAt)) current.lastRun = final;
      return { run: final, result };
    })().finally(() => this.inFlight.delete(run.id));
    this.inFlight.set(run.id, { run, done });
    return done;
  }

  /**
   * A run started by hand (API or command line). It goes through the ledger like any other run and
   * counts against max_instances: a job already at its limit answers 409 naming what is running.
   */
  async runNow(jobId: string, options: RunNowOptions): Promise<RunResult> {
    if (this.stopping) throw new ServiceUnavailableException('this replica is shutting down; try another');
    const def = await this.db.dataSource.getRepository(SchedulerJob).findOneBy({ id: jobId });
    if (!def) throw new NotFoundException(`job "${jobId}" does not exist`);
    const task = this.tasks.get(def.task);
    if (options.dryRun && !task.supportsDryRun) throw new BadRequestException(`dryRun: the ${task.name} task has no dry run`);
    const claim = await this.ledger.claim({
      job: def,
      scheduledFor: options.at ?? this.clock.now(),
      trigger: options.trigger,
      triggeredBy: options.triggeredBy,
      owner: this.instanceId,
      fire: false,
    });
    if (claim.outcome === 'lost' || claim.outcome === 'stale') throw new NotFoundException(`job "${jobId}" does not exist`);
    if (claim.outcome === 'at-max-instances') {
      const names = claim.running.map((r) => `run ${r.id} (${r.trigger}, started ${r.startedAt.toISOString()}${r.owner ? ` on ${r.owner}` : ''})`);
      throw new ConflictException(`${jobId} is already running at its max_instances (${def.maxInstances}): ${names.join(', ')}`);
    }
    return this.execute(def, claim.run, options.dryRun ?? false);
  }

  /** Renews the leases of the runs this replica holds. */
  async heartbeat(): Promise<void> {
    await this.ledger.heartbeat(this.instanceId, [...this.inFlight.keys()]);
  }

  /**
   * Marks abandoned the runs of replicas that stopped renewing their lease, and runs again the fires
   * that were abandoned (by a dead replica or one that shut down before finishing), once, by
   * whichever replica claims the next attempt first.
   */
  async reap(now: Date = this.clock.now()): Promise<void> {
    for (const run of await this.ledger.reapExpired([...this.inFlight.keys()])) this.events.emit('abandoned', run);
    if (!this.running) return;
    const mine = new Set([...this.inFlight.values()].map(({ run }) => `${run.jobId}|${run.fireKey}`));
    for (const fire of await this.ledger.abandonedFires(new Date(now.getTime() - RERUN_WINDOW_MS))) {
      const job = this.live.get(fire.jobId);
      if (!job || job.def.paused || mine.has(`${fire.jobId}|${fire.fireKey}`)) continue;
      const graceMs = job.def.misfireGraceSeconds === null ? Infinity : job.def.misfireGraceSeconds * 1000;
      if (now.getTime() - fire.scheduledFor.getTime() > graceMs) continue;
      this.logger.warn(`running fire ${fire.scheduledFor.toISOString()} of ${fire.jobId} again (attempt ${fire.attempt + 1}): run ${fire.id} was abandoned`);
      await this.claimFire(job, fire.scheduledFor, fire.trigger, fire.attempt + 1, { rerunOf: fire.id });
    }
  }

  /** Resolves when every run this replica started has ended (tests, the command line). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()].map((r) => r.done));
  }

  runningHere(): JobRun[] {
    return [...this.inFlight.values()].map((r) => r.run);
  }

  onModuleDestroy(): Promise<void> {
    return this.drain();
  }

  /**
   * Shutdown: stop claiming, wait for the runs in flight up to SHUTDOWN_TIMEOUT_MS (renewing their
   * leases meanwhile), then give up what is still running, marked abandoned so that another replica
   * runs those fires again at once rather than after the lease.
   */
  drain(): Promise<void> {
    this.drained ??= (async () => {
      this.stopping = true;
      this.changed = undefined;
      if (this.inFlight.size === 0) return;
      const deadline = Date.now() + this.env.SHUTDOWN_TIMEOUT_MS;
      const heartbeatMs = Math.max(1000, (this.env.SCHEDULER_LEASE_SECONDS * 1000) / 3);
      this.logger.log(
        `shutting down: waiting up to ${this.env.SHUTDOWN_TIMEOUT_MS} ms for ${this.inFlight.size} running job(s): ${this.runningHere().map((r) => `${r.jobId} (run ${r.id})`).join(', ')}`,
      );
      while (this.inFlight.size > 0 && Date.now() < deadline) {
        const all = Promise.allSettled([...this.inFlight.values()].map((r) => r.done));
        await Promise.race([all, sleep(Math.min(heartbeatMs, Math.max(0, deadline - Date.now())))]);
        if (this.inFlight.size > 0) await this.heartbeat().catch(() => undefined);
      }
      const left = this.runningHere();
      if (left.length === 0) {
        this.logger.log('shutting down: every running job finished');
        return;
      }
      const reason = `the replica shut down before the run finished (SHUTDOWN_TIMEOUT_MS=${this.env.SHUTDOWN_TIMEOUT_MS}); another replica runs the fire again`;
      const n = await this.ledger.release(left.map((r) => r.id), reason).catch((error: unknown) => {
        this.logger.error({ err: error }, 'could not release the unfinished runs; their leases will expire instead');
        return 0;
      });
      for (const r of left) {
        this.events.emit('abandoned', { id: r.id, jobId: r.jobId, fireKey: r.fireKey, attempt: r.attempt, trigger: r.trigger, scheduledFor: r.scheduledFor, owner: r.owner, reason });
      }
      this.logger.warn(`shutting down: gave up ${n} unfinished run(s): ${left.map((r) => `${r.jobId} (run ${r.id})`).join(', ')}`);
    })();
    return this.drained;
  }
}

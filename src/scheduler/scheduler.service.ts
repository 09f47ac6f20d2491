import {
  BadRequestException,
  ConflictException,
  Injectable,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  OnModuleDestroy,
  ServiceUnavailableException,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { JobRun, RunTrigger } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobCatalogue, LiveJob } from './job-catalogue';
import { JobMonitor } from './job-monitor';
import { planFires, PlannedFire, withinGrace } from './fire-planner';
import { AbandonedRun, JobLedger } from './ledger.service';
import { JobsService } from './jobs.service';
import { RunExecutor, RunResult } from './run-executor';
import { TaskName, TaskRegistry, TaskResults } from './tasks';

/** Abandoned fires older than this are not run again (a later fire has long covered them). */
const RERUN_WINDOW_MS = 2 * 86_400_000;
const PURGE_EVERY_MS = 3_600_000;
/** At shutdown, how long the follow-ups of ended runs may still take. */
const FOLLOW_UP_GRACE_MS = 2000;

export interface RunNowOptions {
  trigger: Extract<RunTrigger, 'manual' | 'cli'>;
  triggeredBy: string;
  dryRun?: boolean;
  /** The time the run stands for (a cleanup computes its cutoff from it); defaults to now. */
  at?: Date;
}

/**
 * The scheduler's engine: decides which fires are due (the pure planner), claims them in the
 * ledger, and hands the winners to the executor. Time comes from the injected clock and nothing
 * here arms a timer, so tests drive it with tick(); SchedulerTimers does that for real.
 */
@Injectable()
export class SchedulerService implements OnModuleDestroy {
  private readonly logger = new Logger('Scheduler');
  private bootAt = new Date(0);
  private started = false;
  private stopping = false;
  private drained?: Promise<void>;
  private ticking?: Promise<boolean>;
  private lastPurge = 0;
  /** What happens after a run's end (a pause after failures, the next queued run): see launch(). */
  private readonly followUps = new Set<Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly ledger: JobLedger,
    private readonly tasks: TaskRegistry,
    private readonly catalogue: JobCatalogue,
    private readonly executor: RunExecutor,
    private readonly monitor: JobMonitor,
    private readonly jobs: JobsService,
  ) {}

  get instanceId(): string {
    return this.executor.instanceId;
  }

  /** Whether this replica claims and runs scheduled fires (the old status's scheduler_running). */
  get running(): boolean {
    return this.env.SCHEDULER_ENABLED && this.started && !this.stopping;
  }

  async start(): Promise<void> {
    this.bootAt = this.clock.now();
    await this.catalogue.ensureBuiltins();
    await this.catalogue.sync();
    this.started = true;
    if (this.env.SCHEDULER_ENABLED) {
      const lines = this.catalogue
        .jobs()
        .map((j) => `${j.def.id} ${j.def.paused ? 'paused' : `next ${j.nextFire?.toISOString() ?? 'never'}`}`);
      this.logger.log(`scheduler started on ${this.instanceId}: ${lines.join('; ')}`);
    } else {
      this.logger.log('SCHEDULER_ENABLED=false: this replica runs no scheduled fires (manual triggers still work)');
    }
  }

  /** Re-reads the stored jobs, and now and then trims the ledger. */
  async sync(): Promise<void> {
    await this.catalogue.sync();
    if (this.env.SCHEDULER_ENABLED && this.clock.now().getTime() - this.lastPurge > PURGE_EVERY_MS) {
      this.lastPurge = this.clock.now().getTime();
      await this.ledger.purge();
    }
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
      for (const job of this.catalogue.jobs()) {
        if (job.def.paused || !job.nextFire || job.nextFire > now) continue;
        try {
          await this.processDue(job, now);
        } catch (error) {
          ok = false;
          this.logger.error(
            { err: error, jobId: job.def.id },
            `could not process the due fires of ${job.def.id}; retrying on the next tick`,
          );
        }
      }
      return ok;
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async processDue(job: LiveJob, now: Date): Promise<void> {
    const def = job.def;
    const plan = planFires(job.schedule!, def, { after: job.considered, now, bootAt: this.bootAt });
    if (plan.missed) {
      const { count, first, latest, trigger } = plan.missed;
      const summary = {
        reason: 'missed',
        missedFires: count,
        firstMissed: first.toISOString(),
        lastMissed: latest.toISOString(),
        misfireGraceSeconds: def.misfireGraceSeconds,
      };
      const row = await this.ledger.recordSkipped(def, latest, trigger, this.instanceId, summary);
      if (row) {
        this.monitor.missed({ jobId: def.id, count, first, latest, graceSeconds: def.misfireGraceSeconds ?? 0 });
        this.catalogue.noteRun(row);
      }
    }
    for (const fire of plan.due) await this.claimFire(def, fire, 1);
    // Only now, with every fire claimed or recorded: had the database failed above, they stay due.
    this.catalogue.advance(job, def, now, plan.nextFire);
  }

  private async claimFire(def: SchedulerJob, fire: PlannedFire & { rerunOf?: string }, attempt: number): Promise<void> {
    const extra = {
      ...(fire.coalescedFires ? { coalescedFires: fire.coalescedFires } : {}),
      ...(fire.rerunOf ? { rerunOf: fire.rerunOf } : {}),
    };
    const { at, trigger } = fire;
    const claim = await this.ledger.claim({
      job: def,
      scheduledFor: at,
      trigger,
      triggeredBy: 'scheduler',
      owner: this.instanceId,
      fire: true,
      attempt,
      skipSummary: extra,
    });
    if (claim.outcome === 'lost') {
      this.logger.debug(`fire ${at.toISOString()} of ${def.id} was claimed by another replica`);
    } else if (claim.outcome === 'stale') {
      this.logger.log(
        `fire ${at.toISOString()} of ${def.id} not run: the job was paused or changed on another replica; re-reading the jobs`,
      );
      void this.catalogue.sync().catch((error: unknown) => this.logger.error({ err: error }, 'could not re-read the jobs'));
    } else if (claim.outcome === 'at-max-instances') {
      this.monitor.atMaxInstances({ jobId: def.id, scheduledFor: at, run: claim.run, running: claim.running });
      if (claim.run) this.catalogue.noteRun(claim.run);
    } else if (claim.outcome === 'queued') {
      this.monitor.buffered(claim.run, claim.replaced, claim.running);
      this.catalogue.noteRun(claim.run);
    } else {
      this.stopped(claim.cancelled);
      void this.launch(def, claim.run, { dryRun: false, extra });
    }
  }

  /** Runs taken away by this replica's own write (a cancel, a cancel_other fire): counted here, and stopped at once if they run here. */
  stopped(taken: AbandonedRun[]): void {
    for (const t of taken) {
      this.monitor.takenAway(t);
      this.executor.stopTaken(t);
    }
  }

  /** Hands a claimed run to the executor; once it ends, the job's queue moves and its failures are counted. */
  private launch<R>(def: SchedulerJob, run: JobRun, options: { dryRun: boolean; extra?: Record<string, unknown> }): Promise<RunResult<R>> {
    const done = this.executor.execute<R>(def, run, { ...options, ...this.catalogue.calendars() });
    // Tracked, so that idle() and a shutdown wait for the follow-up too, not only for the run.
    const followUp: Promise<void> = done.then((result) => this.afterRun(def.id, result.run)).finally(() => this.followUps.delete(followUp));
    this.followUps.add(followUp);
    return done;
  }

  private async afterRun(jobId: string, run: JobRun): Promise<void> {
    try {
      await this.pauseIfFailing(jobId, run);
      await this.runQueued(jobId);
    } catch (error) {
      this.logger.error({ err: error, jobId }, `could not follow up the end of run ${run.id} of ${jobId}; the next reap will`);
    }
  }

  /**
   * pauseAfterFailures: after N consecutive runs that failed or timed out (cancelled, skipped and
   * abandoned runs neither count nor break the streak), the job pauses itself, saying why.
   */
  private async pauseIfFailing(jobId: string, run: Pick<JobRun, 'status'>): Promise<void> {
    const def = this.catalogue.job(jobId)?.def;
    const n = def?.pauseAfterFailures;
    if (!def || !n || def.paused || (run.status !== 'failed' && run.status !== 'timed_out')) return;
    const last = await this.ledger.lastOutcomes(jobId, n);
    if (last.length < n || last.some((r) => r.status === 'succeeded')) return;
    const why = last[0].error ? `: ${last[0].error}` : '';
    await this.jobs.pauseItself(
      jobId,
      `paused by the scheduler after ${n} consecutive failed runs (last: run ${last[0].id}, ${last[0].status}${why})`,
    );
  }

  /**
   * Starts the queued runs (buffered fires, backfill) of the given job, or of every job that has
   * some, as far as their caps allow. Any replica that runs the schedule does it; the claim is per row.
   */
  async runQueued(jobId?: string): Promise<void> {
    if (!this.running) return;
    for (const id of jobId ? [jobId] : await this.ledger.queuedJobs()) {
      const def = this.catalogue.job(id)?.def;
      if (!def || def.paused) continue;
      for (const run of await this.ledger.startQueued(def, this.instanceId)) void this.launch(def, run, { dryRun: false });
    }
  }

  /**
   * A run started by hand (API or command line). It goes through the ledger like any other run and
   * counts against max_instances: a job already at its limit answers 409 naming what is running.
   */
  async runNow(jobId: string, options: RunNowOptions): Promise<RunResult> {
    return (await this.startRun(jobId, options)).done;
  }

  /** runNow for a job whose task the caller relies on (the cleanup and notice triggers answer with the task's own record). */
  async runTask<N extends TaskName>(jobId: string, task: N, options: RunNowOptions): Promise<RunResult<TaskResults[N]>> {
    return (await this.startRun<TaskResults[N]>(jobId, options, task)).done;
  }

  /** A manual run, answered as soon as it has started: the run as claimed, and its end to come. */
  async startRun<R = unknown>(
    jobId: string,
    options: RunNowOptions,
    expectedTask?: TaskName,
  ): Promise<{ run: JobRun; done: Promise<RunResult<R>> }> {
    if (this.stopping) throw new ServiceUnavailableException('this replica is shutting down; try another');
    const def = await this.db.dataSource.getRepository(SchedulerJob).findOneBy({ id: jobId });
    if (!def) throw new NotFoundException(`job "${jobId}" does not exist`);
    if (expectedTask && def.task !== expectedTask)
      throw new InternalServerErrorException(`job "${jobId}" runs task "${def.task}", not "${expectedTask}"`);
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
      const names = claim.running.map(
        (r) => `run ${r.id} (${r.trigger}, started ${r.startedAt.toISOString()}${r.owner ? ` on ${r.owner}` : ''})`,
      );
      throw new ConflictException(`${jobId} is already running at its max_instances (${def.maxInstances}): ${names.join(', ')}`);
    }
    return { run: claim.run, done: this.launch<R>(def, claim.run, { dryRun: options.dryRun ?? false }) };
  }

  /** Renews the leases of the runs this replica holds. */
  heartbeat(): Promise<void> {
    return this.executor.heartbeat();
  }

  /** Every second: timeouts, runs taken away elsewhere, progress (RunExecutor.watch). */
  watch(): Promise<void> {
    return this.executor.watch();
  }

  /**
   * Marks abandoned the runs of replicas that stopped renewing their lease, and runs again the fires
   * that were abandoned (by a dead replica or one that shut down before finishing), once, by
   * whichever replica claims the next attempt first.
   */
  async reap(now: Date = this.clock.now()): Promise<void> {
    for (const run of await this.ledger.reapExpired(this.executor.runIds())) {
      this.monitor.takenAway(run);
      if (run.status === 'timed_out') await this.pauseIfFailing(run.jobId, run);
    }
    if (!this.running) return;
    await this.runQueued();
    const mine = new Set(this.executor.runningHere().map((run) => `${run.jobId}|${run.fireKey}`));
    for (const fire of await this.ledger.abandonedFires(new Date(now.getTime() - RERUN_WINDOW_MS))) {
      const job = this.catalogue.job(fire.jobId);
      if (!job || job.def.paused || mine.has(`${fire.jobId}|${fire.fireKey}`)) continue;
      if (!withinGrace(job.def, fire.scheduledFor, now)) continue;
      this.logger.warn(
        `running fire ${fire.scheduledFor.toISOString()} of ${fire.jobId} again (attempt ${fire.attempt + 1}): run ${fire.id} was abandoned`,
      );
      await this.claimFire(job.def, { at: fire.scheduledFor, trigger: fire.trigger, rerunOf: fire.id }, fire.attempt + 1);
    }
  }

  /** Resolves when every run this replica started has ended, with what follows each (tests, the command line). */
  async idle(): Promise<void> {
    do {
      await this.executor.idle();
      await Promise.allSettled([...this.followUps]);
    } while (this.executor.runIds().length > 0 || this.followUps.size > 0);
  }

  runningHere() {
    return this.executor.runningHere();
  }

  onModuleDestroy(): Promise<void> {
    return this.drain();
  }

  /** Shutdown: stop claiming, then let the executor wait for (and at its deadline give up) the runs in flight. */
  drain(): Promise<void> {
    this.drained ??= (async () => {
      this.stopping = true;
      this.catalogue.onChange(undefined);
      await this.executor.drain();
      // A follow-up in flight finishes before the database closes; stopping, it starts no new run. Bounded:
      // a run given up at the deadline may never end, and its follow-up with it.
      await Promise.race([Promise.allSettled([...this.followUps]), sleep(FOLLOW_UP_GRACE_MS, undefined, { ref: false })]);
    })();
    return this.drained;
  }
}

import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { AuditActor, AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { CronSchedule } from '../common/cron';
import { JobRun } from './job-run.entity';
import { JobsService } from './jobs.service';
import { JobLedger } from './ledger.service';
import { RunExecutor } from './run-executor';
import { SchedulerService } from './scheduler.service';

/** Most fires one backfill request may cover. */
export const MAX_BACKFILL_FIRES = 1000;

export interface BackfillAnswer {
  fires: string[];
  created: number;
  existing: number;
}

/** What an operator does to runs: look at one, cancel one, backfill a range of fires. Audited. */
@Injectable()
export class RunControls {
  private readonly logger = new Logger('Scheduler');

  constructor(
    private readonly ledger: JobLedger,
    private readonly executor: RunExecutor,
    private readonly engine: SchedulerService,
    private readonly jobs: JobsService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  /** A run from the ledger; while it runs here, with the progress its task reported since the last write. */
  async get(runId: string): Promise<JobRun> {
    const run = await this.ledger.get(runId);
    if (!run) throw new NotFoundException(`run "${runId}" does not exist (or is older than JOB_RUN_RETENTION_DAYS)`);
    const fresher = run.status === 'running' ? this.executor.progressOf(runId) : undefined;
    return fresher ? { ...run, progress: fresher } : run;
  }

  /**
   * Cancels a running or queued run, through the database: the one write that marks it cancelled
   * ends it in the ledger and closes its fence, so the replica running it (whichever it is) writes
   * nothing more and stops within a second (its watch) or at its next batch, whichever is first.
   */
  async cancel(runId: string, actor: AuditActor): Promise<JobRun> {
    const before = await this.get(runId);
    const reason = `cancelled by ${actor.role}${actor.requestId ? ` (request ${actor.requestId})` : ''}`;
    const taken = await this.ledger.takeAway([runId], 'cancelled', reason, (m, [t]) =>
      this.audit.record(m, actor, 'run.cancel', t.jobId, { runId, status: before.status }, { runId, status: 'cancelled' }),
    );
    if (taken.length === 0) {
      const now = (await this.ledger.get(runId)) ?? before;
      throw new ConflictException(`run ${runId} has already ended (${now.status}); there is nothing to cancel`);
    }
    this.engine.stopped(taken);
    return this.get(runId);
  }

  /**
   * Queues every fire of the job's schedule in [from, to) that the ledger does not have yet, as
   * backfill runs, oldest first. They run one after another (or, under overlap "allow", up to
   * maxInstances at once) as room frees up: backfill never skips its own fires nor cancels a run.
   * A fire already in the ledger, by any trigger and in any status, is not run again, so the same
   * request twice runs nothing new.
   */
  async backfill(jobId: string, range: { from: Date; to: Date; dryRun: boolean }, actor: AuditActor): Promise<BackfillAnswer> {
    const def = await this.jobs.find(jobId);
    const now = this.clock.now();
    if (range.to.getTime() <= range.from.getTime()) throw new BadRequestException('to: must be after from');
    if (range.to.getTime() > now.getTime())
      throw new BadRequestException(`to: must not be in the future (now is ${now.toISOString()}); future fires run on schedule`);
    const schedule = CronSchedule.parse(def.cron, def.timezone);
    // [from, to): between() answers fires in (after, until].
    const fires = schedule.between(new Date(range.from.getTime() - 1), new Date(range.to.getTime() - 1), MAX_BACKFILL_FIRES + 1);
    if (fires.length > MAX_BACKFILL_FIRES) {
      throw new BadRequestException(
        `to: [from, to) holds more than ${MAX_BACKFILL_FIRES} fires of "${def.cron}" (${def.timezone}); split the range (first past the limit: ${fires[MAX_BACKFILL_FIRES].toISOString()})`,
      );
    }
    const known = await this.ledger.firesInLedger(jobId, fires);
    const fresh = fires.filter((at) => !known.has(JobLedger.fireKey(at)));
    const answer = (created: number, existing: number) => ({ fires: fires.map((at) => at.toISOString()), created, existing });
    // A dry run says what a real one would do now: how many it would queue is fresh.length.
    if (range.dryRun) return answer(0, fires.length - fresh.length);
    const created = await this.ledger.queueFires(def, fresh, actor.role, (m, queued) =>
      this.audit.record(m, actor, 'job.backfill', jobId, null, {
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        fires: fires.length,
        created: queued.length,
      }),
    );
    this.logger.log(
      { jobId, from: range.from.toISOString(), to: range.to.toISOString(), fires: fires.length, created: created.length },
      `backfill of ${jobId}: ${created.length} of ${fires.length} fire(s) in [${range.from.toISOString()}, ${range.to.toISOString()}) queued, oldest first`,
    );
    void this.engine
      .runQueued(jobId)
      .catch((error: unknown) => this.logger.error({ err: error, jobId }, 'could not start the backfill; the next reap will'));
    return answer(created.length, fires.length - created.length);
  }
}

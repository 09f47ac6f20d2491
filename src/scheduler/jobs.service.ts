import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { AuditActor, AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { CronSchedule } from '../common/cron';
import { Env, noticeGapProblem, schedulerTimezone } from '../config/env.validation';
import { Database } from '../database/database.service';
import { isUniqueViolation } from '../database/errors';
import { SqlParams } from '../database/sql';
import { CreateJobDto, UpdateJobDto } from './dto/job.dto';
import { SchedulerJob } from './job.entity';
import { JobCatalogue } from './job-catalogue';
import { DEFAULT_JOB_OPTIONS } from './jobs';
import { TaskRegistry } from './tasks';

const EDITABLE = [
  'name',
  'cron',
  'timezone',
  'paused',
  'note',
  'maxInstances',
  'coalesce',
  'misfireGraceSeconds',
  'overlap',
  'maxRuntimeSeconds',
  'pauseAfterFailures',
] as const;

/** The actor of what the scheduler does by itself (a pause after failures), in the audit log. */
export const SYSTEM_ACTOR: AuditActor = { role: 'system' };

/** What an audit entry shows of a job. */
function snapshot(job: SchedulerJob): Record<string, unknown> {
  return {
    name: job.name,
    task: job.task,
    cron: job.cron,
    timezone: job.timezone,
    paused: job.paused,
    maxInstances: job.maxInstances,
    coalesce: job.coalesce,
    misfireGraceSeconds: job.misfireGraceSeconds,
    overlap: job.overlap,
    maxRuntimeSeconds: job.maxRuntimeSeconds,
    pauseAfterFailures: job.pauseAfterFailures,
    pauseNote: job.pauseNote,
  };
}

/**
 * Steering: add, change and remove jobs. Each change is stored (every replica applies it at its next
 * sync) and audited in the same transaction.
 */
@Injectable()
export class JobsService {
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly catalogue: JobCatalogue,
    private readonly tasks: TaskRegistry,
    private readonly audit: AuditService,
  ) {}

  async create(dto: CreateJobDto, actor: AuditActor): Promise<SchedulerJob> {
    // Validated here rather than in the DTO: the registered tasks are the @Cron methods found at start.
    this.tasks.get(dto.task);
    if (dto.note !== undefined && dto.paused !== true)
      throw new BadRequestException('note: goes with "paused": true (why the job is paused)');
    const now = this.clock.now();
    const job: SchedulerJob = {
      id: dto.id,
      name: dto.name,
      task: dto.task,
      cron: dto.cron.trim(),
      timezone: dto.timezone ?? schedulerTimezone(this.env),
      paused: dto.paused ?? false,
      maxInstances: dto.maxInstances ?? DEFAULT_JOB_OPTIONS.maxInstances,
      coalesce: dto.coalesce ?? DEFAULT_JOB_OPTIONS.coalesce,
      misfireGraceSeconds: dto.misfireGraceSeconds === undefined ? DEFAULT_JOB_OPTIONS.misfireGraceSeconds : dto.misfireGraceSeconds,
      // maxInstances above 1 meant "that many at once" before overlap policies existed: it still does.
      overlap: dto.overlap ?? ((dto.maxInstances ?? 1) > 1 ? 'allow' : DEFAULT_JOB_OPTIONS.overlap),
      maxRuntimeSeconds: dto.maxRuntimeSeconds ?? DEFAULT_JOB_OPTIONS.maxRuntimeSeconds,
      pauseAfterFailures: dto.pauseAfterFailures ?? DEFAULT_JOB_OPTIONS.pauseAfterFailures,
      pauseNote: dto.paused && dto.note ? dto.note : null,
      builtin: false,
      scheduleOverridden: true,
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    this.check(job);
    try {
      await this.db.transaction(async (m) => {
        if (await m.existsBy(SchedulerJob, { id: job.id })) throw new ConflictException(`id: job "${job.id}" already exists`);
        await m.insert(SchedulerJob, job);
        await this.audit.record(m, actor, 'job.create', job.id, null, snapshot(job));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(`id: job "${job.id}" already exists`);
      throw error;
    }
    await this.catalogue.applyNow(job);
    return job;
  }

  async update(id: string, dto: UpdateJobDto, actor: AuditActor): Promise<SchedulerJob> {
    const given = EDITABLE.filter((k) => dto[k] !== undefined);
    if (given.length === 0) throw new BadRequestException(`body: give at least one of ${EDITABLE.join(', ')}`);
    if (dto.note !== undefined && dto.paused !== true)
      throw new BadRequestException('note: goes with "paused": true (why the job is paused)');
    const current = await this.find(id);
    const next: SchedulerJob = { ...current };
    for (const key of given) if (key !== 'note') (next as unknown as Record<string, unknown>)[key] = dto[key];
    if (dto.cron !== undefined) next.cron = dto.cron.trim();
    // maxInstances above 1 meant "that many at once" before overlap policies: on a job that skips, it still does.
    if (dto.maxInstances !== undefined && dto.maxInstances > 1 && dto.overlap === undefined && current.overlap === 'skip')
      next.overlap = 'allow';
    // A pause carries its note; a resume clears it.
    if (dto.paused === true) next.pauseNote = dto.note ?? (current.paused ? current.pauseNote : null);
    if (dto.paused === false) next.pauseNote = null;
    const changed = [...given.filter((k) => k !== 'note'), 'pauseNote' as const].filter((k) => next[k] !== current[k]);
    if (changed.length === 0) return current;
    this.check(next);
    const scheduleChanged = next.cron !== current.cron || next.timezone !== current.timezone;
    next.scheduleOverridden = current.scheduleOverridden || scheduleChanged;
    next.version = current.version + 1;
    next.updatedAt = this.clock.now();
    await this.db.transaction(async (m) => {
      const { id: _id, createdAt: _c, ...fields } = next;
      // Optimistic: the version read above must still be the stored one, or two operators' changes would silently merge.
      const result = await m.update(SchedulerJob, { id, version: current.version }, fields);
      if (!result.affected) throw new ConflictException(`job "${id}" was changed meanwhile; read it again and retry`);
      await this.audit.record(m, actor, 'job.update', id, snapshot(current), snapshot(next));
    });
    if (next.task === 'notices' && next.builtin && next.paused && !current.paused) {
      this.logger.warn(
        `${id} paused by ${actor.role}: cleanups now run without the deletion notices promised to parents until it is resumed`,
      );
    }
    await this.catalogue.applyNow(next);
    return next;
  }

  /**
   * The job pauses itself (pauseAfterFailures): stored like an operator's pause, with the
   * scheduler's note, audited as the system's. False if it was paused or changed meanwhile.
   */
  async pauseItself(id: string, note: string): Promise<boolean> {
    const current = await this.db.dataSource.getRepository(SchedulerJob).findOneBy({ id });
    if (!current || current.paused) return false;
    const next: SchedulerJob = {
      ...current,
      paused: true,
      pauseNote: note.slice(0, 500),
      version: current.version + 1,
      updatedAt: this.clock.now(),
    };
    const done = await this.db.transaction(async (m) => {
      const result = await m.update(
        SchedulerJob,
        { id, version: current.version },
        { paused: true, pauseNote: next.pauseNote, version: next.version, updatedAt: next.updatedAt },
      );
      if (!result.affected) return false;
      await this.audit.record(m, SYSTEM_ACTOR, 'job.pause', id, snapshot(current), snapshot(next));
      return true;
    });
    if (done) {
      this.logger.warn({ jobId: id, note: next.pauseNote }, `${id} paused itself: ${next.pauseNote}`);
      await this.catalogue.applyNow(next);
    }
    return done;
  }

  async remove(id: string, actor: AuditActor): Promise<SchedulerJob> {
    const job = await this.find(id);
    // A built-in job whose @Cron method is gone from the code can go too (its runs could only fail).
    if (job.builtin && this.tasks.list().some((task) => task.job.id === id))
      throw new ConflictException(`job "${id}" is built in and cannot be deleted; pause it instead (PATCH {"paused": true})`);
    await this.db.transaction(async (m) => {
      await m.delete(SchedulerJob, { id });
      // Its waiting fires (buffered, backfill) will never run: they end skipped, saying why.
      const p = new SqlParams(this.db.kind);
      await m.query(
        `UPDATE job_run SET status = 'skipped', finished_at = ${p.add(this.clock.now())}, duration_ms = 0, summary = ${p.add(JSON.stringify({ reason: 'job deleted' }))}
          WHERE job_id = ${p.add(id)} AND status = 'queued'`,
        p.values,
      );
      await this.audit.record(m, actor, 'job.delete', id, snapshot(job), null);
    });
    this.catalogue.forget(id);
    return job;
  }

  async find(id: string): Promise<SchedulerJob> {
    const job = await this.db.dataSource.getRepository(SchedulerJob).findOneBy({ id });
    if (!job) throw new NotFoundException(`job "${id}" does not exist`);
    return job;
  }

  /** Checks that need the whole job, not one field. */
  private check(job: SchedulerJob): void {
    if (job.maxInstances > 1 && job.overlap !== 'allow') {
      throw new BadRequestException(
        `maxInstances: ${job.maxInstances} needs "overlap": "allow"; under "${job.overlap}" the job runs one at a time`,
      );
    }
    const schedule = CronSchedule.parse(job.cron, job.timezone);
    if (!schedule.next(this.clock.now())) throw new BadRequestException(`cron: "${job.cron}" never fires in the next 10 years`);
    if (job.builtin && job.task === 'notices') {
      // Same rule as NOTIFY_CRON at boot: a notice run covers the next NOTICE_DAYS_BEFORE days of cleanups.
      const gap = noticeGapProblem(job.cron, job.timezone, this.env.NOTICE_DAYS_BEFORE, this.clock.now());
      if (gap) throw new BadRequestException(`cron: ${gap}`);
    }
  }
}

import { BadRequestException, Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from '../auth/api-key.guard';
import { AuditActor } from '../audit/audit.service';
import { Roles } from '../auth/roles.decorator';
import { CleanupReportDto, TriggerCleanupDto } from '../cleanup/dto/cleanup-report.dto';
import { ApiErrors } from '../common/api-errors.decorator';
import { Clock } from '../common/clock';
import { CronSchedule, formatInZone } from '../common/cron';
import { ErrorResponseDto } from '../common/error-response.dto';
import { Page } from '../common/cursor';
import { NoticeJobDto } from '../notifications/dto/notice.dto';
import {
  CreateJobDto,
  JOB_ID_PATTERN,
  JobDto,
  JobRunDto,
  JobRunPageDto,
  RunsQueryDto,
  StatusDto,
  StatusJobDto,
  TaskDto,
  TriggerJobDto,
  TriggerResultDto,
  UpdateJobDto,
} from './dto/job.dto';
import { JobRun } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobsService } from './jobs.service';
import { JobLedger } from './ledger.service';
import { LiveJob, RunResult, SchedulerService } from './scheduler.service';
import { TaskRegistry } from './tasks';

class CleanupTriggerResultDto extends CleanupReportDto {
  @ApiProperty({ type: JobRunDto, description: 'The run, as recorded in the ledger' }) run: JobRunDto;
}

class NoticeTriggerResultDto extends NoticeJobDto {
  @ApiProperty({ type: JobRunDto, description: 'The run, as recorded in the ledger' }) run: JobRunDto;
}

const NotFound = ApiNotFoundResponse({ description: 'No such job', type: ErrorResponseDto });

function jobId(id: string): string {
  if (!JOB_ID_PATTERN.test(id)) throw new BadRequestException('id must be a job id: 1-64 characters, lower-case letters, digits, _ . -');
  return id;
}

function actor(req: AuthedRequest): AuditActor {
  return { role: req.principal!.role, requestId: typeof req.id === 'string' ? req.id : undefined };
}

export function toRunDto(run: JobRun): JobRunDto {
  return {
    id: run.id,
    jobId: run.jobId,
    scheduledFor: run.scheduledFor,
    trigger: run.trigger,
    triggeredBy: run.triggeredBy,
    status: run.status,
    attempt: run.attempt,
    owner: run.owner,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.durationMs,
    summary: run.summary,
    error: run.error,
  };
}

@ApiTags('scheduler')
@Roles('viewer')
@Controller('admin')
export class SchedulerController {
  constructor(
    private readonly engine: SchedulerService,
    private readonly jobs: JobsService,
    private readonly ledger: JobLedger,
    private readonly tasks: TaskRegistry,
    private readonly clock: Clock,
  ) {}

  @Get('scheduler/status')
  @ApiOperation({
    summary: 'The scheduler and its jobs, in the original service shape (plus paused, timezone and the last run)',
    description: 'Served from memory: job definitions and last runs are re-read from the database every SCHEDULER_SYNC_SECONDS.',
  })
  @ApiOkResponse({ type: StatusDto })
  status(): StatusDto {
    const jobs = this.engine.jobs();
    return {
      scheduler_running: this.engine.running,
      total_jobs: jobs.length,
      timezone: this.engine.defaultTimeZone,
      jobs: jobs.map((job) => this.statusJob(job)),
    };
  }

  private nextRun(job: LiveJob): string | null {
    if (job.def.paused || !job.schedule) return null;
    // A replica that does not run the schedule has no pending fire of its own: compute from now.
    const next = this.engine.running ? job.nextFire : job.schedule.next(this.clock.now());
    return next ? formatInZone(next, job.def.timezone) : null;
  }

  private statusJob(job: LiveJob): StatusJobDto {
    const last = job.lastRun;
    return {
      id: job.def.id,
      name: job.def.name,
      next_run_time: this.nextRun(job),
      trigger: job.schedule?.describe() ?? `invalid[${job.def.cron}]`,
      paused: job.def.paused,
      timezone: job.def.timezone,
      cron: job.def.cron,
      task: job.def.task,
      max_instances: job.def.maxInstances,
      coalesce: job.def.coalesce,
      misfire_grace_time: job.def.misfireGraceSeconds,
      last_run: last
        ? {
            id: last.id,
            status: last.status,
            trigger: last.trigger,
            scheduled_for: last.scheduledFor.toISOString(),
            started_at: last.startedAt.toISOString(),
            finished_at: last.finishedAt?.toISOString() ?? null,
          }
        : null,
    };
  }

  private jobDto(def: SchedulerJob): JobDto {
    // A job just deleted is no longer live: describe it from its stored definition.
    const live = this.engine.job(def.id) ?? { def, schedule: CronSchedule.parse(def.cron, def.timezone), considered: this.clock.now(), nextFire: null };
    return {
      id: def.id,
      name: def.name,
      task: def.task,
      cron: def.cron,
      timezone: def.timezone,
      trigger: live?.schedule?.describe() ?? '',
      paused: def.paused,
      maxInstances: def.maxInstances,
      coalesce: def.coalesce,
      misfireGraceSeconds: def.misfireGraceSeconds,
      builtin: def.builtin,
      nextRunTime: this.engine.job(def.id) ? this.nextRun(live) : null,
      version: def.version,
      updatedAt: def.updatedAt,
    };
  }

  @Get('scheduler/tasks')
  @ApiOperation({ summary: 'The registered tasks a job can run' })
  @ApiOkResponse({ type: [TaskDto] })
  listTasks(): TaskDto[] {
    return this.tasks.list().map(({ name, description, supportsDryRun }) => ({ name, description, supportsDryRun }));
  }

  @Get('scheduler/jobs')
  @ApiOperation({ summary: 'Every job with its schedule and options' })
  @ApiOkResponse({ type: [JobDto] })
  listJobs(): JobDto[] {
    return this.engine.jobs().map((job) => this.jobDto(job.def));
  }

  @Get('scheduler/jobs/:id')
  @ApiOperation({ summary: 'One job' })
  @ApiOkResponse({ type: JobDto })
  @ApiErrors(400)
  @NotFound
  async getJob(@Param('id') id: string): Promise<JobDto> {
    return this.jobDto(await this.jobs.find(jobId(id)));
  }

  @Post('scheduler/jobs')
  @Roles('operator')
  @ApiOperation({ summary: 'Add a job running a registered task on its own cron (audited)', description: 'Every replica picks it up within SCHEDULER_SYNC_SECONDS.' })
  @ApiCreatedResponse({ type: JobDto })
  @ApiErrors(400, 409, 413)
  async createJob(@Body() dto: CreateJobDto, @Req() req: AuthedRequest): Promise<JobDto> {
    return this.jobDto(await this.jobs.create(dto, actor(req)));
  }

  @Patch('scheduler/jobs/:id')
  @Roles('operator')
  @ApiOperation({
    summary: 'Change a job: cron, timezone, paused, options (audited)',
    description: 'Stored in the database; every replica applies it within SCHEDULER_SYNC_SECONDS (10 s at most). Fires before the change are not caught up.',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiErrors(400, 409, 413)
  @NotFound
  async updateJob(@Param('id') id: string, @Body() dto: UpdateJobDto, @Req() req: AuthedRequest): Promise<JobDto> {
    return this.jobDto(await this.jobs.update(jobId(id), dto, actor(req)));
  }

  @Delete('scheduler/jobs/:id')
  @Roles('operator')
  @ApiOperation({ summary: 'Remove an added job (audited); built-in jobs can only be paused. Its run history stays.' })
  @ApiOkResponse({ type: JobDto, description: 'The job as it was' })
  @ApiConflictResponse({ description: 'A built-in job', type: ErrorResponseDto })
  @ApiErrors(400)
  @NotFound
  async deleteJob(@Param('id') id: string, @Req() req: AuthedRequest): Promise<JobDto> {
    return this.jobDto(await this.jobs.remove(jobId(id), actor(req)));
  }

  @Get('scheduler/jobs/:id/runs')
  @ApiOperation({ summary: "A job's runs from the ledger, newest first, paged by cursor (kept JOB_RUN_RETENTION_DAYS)" })
  @ApiOkResponse({ type: JobRunPageDto })
  @ApiErrors(400)
  @NotFound
  async runs(@Param('id') id: string, @Query() query: RunsQueryDto): Promise<JobRunPageDto> {
    jobId(id);
    // A deleted job's history stays readable.
    if (!this.engine.job(id) && !(await this.ledger.exists(id))) await this.jobs.find(id);
    const page: Page<JobRun> = await this.ledger.list(id, query.limit ?? 50, query.cursor, query.status);
    return { items: page.items.map(toRunDto), nextCursor: page.nextCursor };
  }

  @Post('scheduler/jobs/:id/trigger')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Run a job now (recorded in the ledger); waits for the run and answers with it' })
  @ApiOkResponse({ type: TriggerResultDto })
  @ApiConflictResponse({ description: 'The job is at max_instances; the message names the running run', type: ErrorResponseDto })
  @ApiErrors(400)
  @NotFound
  async trigger(@Param('id') id: string, @Body() dto: TriggerJobDto, @Req() req: AuthedRequest): Promise<TriggerResultDto> {
    const { run, result } = await this.engine.runNow(jobId(id), { trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun });
    return { run: toRunDto(run), result };
  }

  @Post('scheduler/cleanup/trigger')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the cleanup now (optionally a dry run, or as of a past scheduled time); answers with its report and its ledger run',
    description: 'Runs daily_data_cleanup by hand, through the run ledger: while it is at max_instances the answer is 409 naming the running run.',
  })
  @ApiOkResponse({ type: CleanupTriggerResultDto })
  @ApiConflictResponse({ description: 'A cleanup is already running', type: ErrorResponseDto })
  @ApiErrors(400)
  async triggerCleanup(@Body() dto: TriggerCleanupDto, @Req() req: AuthedRequest): Promise<CleanupTriggerResultDto> {
    const at = dto.at ? new Date(dto.at) : undefined;
    if (at && at.getTime() > this.clock.now().getTime()) throw new BadRequestException('at must not be in the future');
    const outcome = await this.engine.runNow('daily_data_cleanup', { trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun, at });
    return withRun(outcome) as unknown as CleanupTriggerResultDto;
  }
}

/** The task's own record (kept in the original shape), with the ledger run added. */
function withRun(outcome: RunResult): Record<string, unknown> {
  const base = outcome.result && typeof outcome.result === 'object' ? (outcome.result as Record<string, unknown>) : { error: outcome.run.error };
  return { ...base, run: toRunDto(outcome.run) };
}

@ApiTags('admin')
@Roles('operator')
@Controller('admin/notifications')
export class NoticeTriggerController {
  constructor(private readonly engine: SchedulerService) {}

  @Post('trigger')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the notice job now',
    description:
      'Runs cleanup_notifications by hand, through the run ledger: enqueues the notices owed for the cleanup runs in the next NOTICE_DAYS_BEFORE days (never twice), then runs a delivery pass.',
  })
  @ApiOkResponse({ type: NoticeTriggerResultDto })
  @ApiConflictResponse({ description: 'The notice job is already running', type: ErrorResponseDto })
  async trigger(@Req() req: AuthedRequest): Promise<NoticeTriggerResultDto> {
    const outcome = await this.engine.runNow('cleanup_notifications', { trigger: 'manual', triggeredBy: req.principal!.role });
    return withRun(outcome) as unknown as NoticeTriggerResultDto;
  }
}

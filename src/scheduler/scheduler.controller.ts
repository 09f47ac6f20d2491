import { Body, Controller, Delete, Get, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Roles } from '../auth/roles.decorator';
import { auditActor } from '../audit/audit-actor';
import { ApiErrors } from '../common/api-errors.decorator';
import { Clock } from '../common/clock';
import { CronSchedule, formatInZone } from '../common/cron';
import { Env, schedulerTimezone } from '../config/env.validation';
import { ErrorResponseDto } from '../common/error-response.dto';
import { Page } from '../common/cursor';
import { CreateJobDto, JobDto, JobRunPageDto, RunsQueryDto, StatusDto, StatusJobDto, TaskDto, UpdateJobDto } from './dto/job.dto';
import { toRunDto } from './dto/run-answer';
import { JobRun } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobCatalogue, LiveJob } from './job-catalogue';
import { ApiJobNotFound, JobIdPipe } from './job-id.pipe';
import { JobsService } from './jobs.service';
import { JobLedger } from './ledger.service';
import { SchedulerService } from './scheduler.service';
import { TaskRegistry } from './tasks';

@ApiTags('scheduler')
@Roles('viewer')
@Controller('admin')
export class SchedulerController {
  constructor(
    private readonly engine: SchedulerService,
    private readonly catalogue: JobCatalogue,
    private readonly jobs: JobsService,
    private readonly ledger: JobLedger,
    private readonly tasks: TaskRegistry,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {}

  @Get('scheduler/status')
  @ApiOperation({
    summary: 'The scheduler and its jobs, in the original service shape (plus paused, timezone and the last run)',
    description: 'Served from memory: job definitions and last runs are re-read from the database every SCHEDULER_SYNC_SECONDS.',
  })
  @ApiOkResponse({ type: StatusDto })
  getSchedulerStatus(): StatusDto {
    const jobs = this.catalogue.jobs();
    return {
      scheduler_running: this.engine.running,
      total_jobs: jobs.length,
      timezone: schedulerTimezone(this.env),
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
      overlap: job.def.overlap,
      max_runtime_seconds: job.def.maxRuntimeSeconds,
      pause_after_failures: job.def.pauseAfterFailures,
      pause_note: job.def.pauseNote,
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
    const live = this.catalogue.job(def.id) ?? {
      def,
      schedule: CronSchedule.parse(def.cron, def.timezone),
      considered: this.clock.now(),
      nextFire: null,
    };
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
      overlap: def.overlap,
      maxRuntimeSeconds: def.maxRuntimeSeconds,
      pauseAfterFailures: def.pauseAfterFailures,
      pauseNote: def.pauseNote,
      builtin: def.builtin,
      nextRunTime: this.catalogue.job(def.id) ? this.nextRun(live) : null,
      version: def.version,
      updatedAt: def.updatedAt,
    };
  }

  @Get('scheduler/tasks')
  @ApiOperation({
    summary: 'The registered tasks a job can run: every @Cron-declared method of the service',
    description: 'Each is also a built-in job (jobId), running on its declared schedule unless configured or changed otherwise.',
  })
  @ApiOkResponse({ type: [TaskDto] })
  listTasks(): TaskDto[] {
    return this.tasks.list().map(({ name, description, supportsDryRun, declaredBy, job }) => ({
      name,
      description,
      supportsDryRun,
      declaredBy,
      jobId: job.id,
      cron: job.cron,
      timeZone: job.timeZone ?? null,
    }));
  }

  @Get('scheduler/jobs')
  @ApiOperation({ summary: 'Every job with its schedule and options' })
  @ApiOkResponse({ type: [JobDto] })
  listJobs(): JobDto[] {
    return this.catalogue.jobs().map((job) => this.jobDto(job.def));
  }

  @Get('scheduler/jobs/:id')
  @ApiOperation({ summary: 'One job' })
  @ApiOkResponse({ type: JobDto })
  @ApiErrors(400)
  @ApiJobNotFound
  async getJob(@Param('id', JobIdPipe) id: string): Promise<JobDto> {
    return this.jobDto(await this.jobs.find(id));
  }

  @Post('scheduler/jobs')
  @Roles('operator')
  @ApiOperation({
    summary: 'Add a job running a registered task on its own cron (audited)',
    description: 'Every replica picks it up within SCHEDULER_SYNC_SECONDS.',
  })
  @ApiCreatedResponse({ type: JobDto })
  @ApiErrors(400, 409, 413)
  async createJob(@Body() dto: CreateJobDto, @Req() req: AuthedRequest): Promise<JobDto> {
    return this.jobDto(await this.jobs.create(dto, auditActor(req)));
  }

  @Patch('scheduler/jobs/:id')
  @Roles('operator')
  @ApiOperation({
    summary: 'Change a job: cron, timezone, paused, options (audited)',
    description:
      'Stored in the database; every replica applies it within SCHEDULER_SYNC_SECONDS (10 s at most). Fires before the change are not caught up.',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiErrors(400, 409, 413)
  @ApiJobNotFound
  async updateJob(@Param('id', JobIdPipe) id: string, @Body() dto: UpdateJobDto, @Req() req: AuthedRequest): Promise<JobDto> {
    return this.jobDto(await this.jobs.update(id, dto, auditActor(req)));
  }

  @Delete('scheduler/jobs/:id')
  @Roles('operator')
  @ApiOperation({ summary: 'Remove an added job (audited); built-in jobs can only be paused. Its run history stays.' })
  @ApiOkResponse({ type: JobDto, description: 'The job as it was' })
  @ApiConflictResponse({ description: 'A built-in job', type: ErrorResponseDto })
  @ApiErrors(400)
  @ApiJobNotFound
  async deleteJob(@Param('id', JobIdPipe) id: string, @Req() req: AuthedRequest): Promise<JobDto> {
    return this.jobDto(await this.jobs.remove(id, auditActor(req)));
  }

  @Get('scheduler/jobs/:id/runs')
  @ApiOperation({ summary: "A job's runs from the ledger, newest first, paged by cursor (kept JOB_RUN_RETENTION_DAYS)" })
  @ApiOkResponse({ type: JobRunPageDto })
  @ApiErrors(400)
  @ApiJobNotFound
  async listJobRuns(@Param('id', JobIdPipe) id: string, @Query() query: RunsQueryDto): Promise<JobRunPageDto> {
    // A deleted job's history stays readable.
    if (!this.catalogue.job(id) && !(await this.ledger.exists(id))) await this.jobs.find(id);
    const page: Page<JobRun> = await this.ledger.list(id, query.limit ?? 50, query.cursor, query.status);
    return { items: page.items.map(toRunDto), nextCursor: page.nextCursor };
  }
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { ListQueryDto } from '../../common/list-query.dto';
import { IsCron, IsOmittable, IsTimestamp, IsTimeZone, MaxChars, NoNul } from '../../common/validation';
import { RUN_STATUSES, RUN_TRIGGERS } from '../job-run.entity';
import { OVERLAP_POLICIES, OverlapPolicy } from '../job.entity';

export const JOB_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
/** A task name, as scheduler_job.task (varchar 32) stores it; which names exist is the registry's to say (tasks.ts). */
export const TASK_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
const TASK_DESCRIPTION = 'A registered task: one per @Cron-declared method (GET /admin/scheduler/tasks); built in: cleanup, notices';

class JobOptionsDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, example: 1, description: 'Runs of this job allowed at once, across all replicas' })
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(100)
  maxInstances?: number;

  @ApiPropertyOptional({ example: true, description: 'Fires missed together (downtime) run once, as the latest of them' })
  @IsOmittable()
  @IsBoolean()
  coalesce?: boolean;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    maximum: 31_536_000,
    example: null,
    description: 'How late (seconds) a fire may still run; null: no limit (the default)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(31_536_000)
  misfireGraceSeconds?: number | null;

  @ApiPropertyOptional({
    enum: OVERLAP_POLICIES,
    example: 'skip',
    description:
      "What a fire does when the job is already running (Temporal's meanings): skip (the default: recorded skipped), buffer_one (waits; a later fire replaces it), cancel_other (cancels the running run and starts), allow (runs alongside, up to maxInstances). maxInstances above 1 needs allow.",
  })
  @IsOmittable()
  @IsIn(OVERLAP_POLICIES, { message: `overlap must be one of ${OVERLAP_POLICIES.join(', ')}` })
  overlap?: OverlapPolicy;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    maximum: 604_800,
    example: 3600,
    description: 'A run still running after this many seconds is stopped and ends timed_out; null: no limit (the default)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(604_800)
  maxRuntimeSeconds?: number | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    maximum: 100,
    example: 3,
    description:
      'After this many consecutive failed or timed-out runs the job pauses itself, with a note saying so; null: never (the default)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  pauseAfterFailures?: number | null;

  @ApiPropertyOptional({
    example: 'paused while the mail relay is migrated (ticket OPS-123)',
    maxLength: 500,
    description: 'With "paused": true only: why',
  })
  @IsOmittable()
  @IsString()
  @NoNul()
  @MaxChars(500)
  note?: string;
}

export class UpdateJobDto extends JobOptionsDto {
  @ApiPropertyOptional({ example: '0 2 * * *', description: 'Cron expression: 5 fields, or 6 with seconds first' })
  @IsOmittable()
  @IsCron()
  cron?: string;

  @ApiPropertyOptional({ example: 'Europe/Berlin', description: 'IANA time zone the cron expression is read in' })
  @IsOmittable()
  @IsTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ example: true, description: 'A paused job does not fire; its missed fires are not caught up on resume' })
  @IsOmittable()
  @IsBoolean()
  paused?: boolean;

  @ApiPropertyOptional({ example: 'Daily Data Cleanup', maxLength: 200 })
  @IsOmittable()
  @IsString()
  @MinLength(1)
  @NoNul()
  @MaxChars(200)
  name?: string;
}

export class CreateJobDto extends JobOptionsDto {
  @ApiProperty({ example: 'evening_notices', pattern: JOB_ID_PATTERN.source, description: 'Lower-case letters, digits, _ . -' })
  @IsString()
  @Matches(JOB_ID_PATTERN, { message: 'id must be 1-64 characters: lower-case letters, digits, _ . - (starting with a letter or digit)' })
  id: string;

  @ApiProperty({ example: 'Evening notices', maxLength: 200 })
  @IsString()
  @MinLength(1)
  @NoNul()
  @MaxChars(200)
  name: string;

  // Which tasks exist is known at run time (the @Cron methods found at start): JobsService.create checks the name
  // against the registry, and a 400 names the field and lists the registered tasks.
  @ApiProperty({ example: 'notices', pattern: TASK_NAME_PATTERN.source, description: `The task it runs. ${TASK_DESCRIPTION}` })
  @IsString()
  @Matches(TASK_NAME_PATTERN, { message: 'task must be the name of a registered task (GET /admin/scheduler/tasks)' })
  task: string;

  @ApiProperty({ example: '0 9,18 * * *' })
  @IsCron()
  cron: string;

  @ApiPropertyOptional({ example: 'UTC', description: 'Defaults to SCHEDULER_TIMEZONE' })
  @IsOmittable()
  @IsTimeZone()
  timezone?: string;

  @ApiPropertyOptional({ example: false, default: false })
  @IsOmittable()
  @IsBoolean()
  paused?: boolean;
}

export class TriggerJobDto {
  @ApiPropertyOptional({ example: false, default: false, description: 'Cleanup only: count, delete nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class JobDto {
  @ApiProperty({ example: 'daily_data_cleanup' }) id: string;
  @ApiProperty({ example: 'Daily Data Cleanup' }) name: string;
  @ApiProperty({ example: 'cleanup', description: TASK_DESCRIPTION }) task: string;
  @ApiProperty({ example: '0 0 * * *' }) cron: string;
  @ApiProperty({ example: 'UTC' }) timezone: string;
  @ApiProperty({ example: "cron[hour='0', minute='0']" }) trigger: string;
  @ApiProperty({ example: false }) paused: boolean;
  @ApiProperty({ example: 1 }) maxInstances: number;
  @ApiProperty({ example: true }) coalesce: boolean;
  @ApiProperty({ type: Number, nullable: true, example: null }) misfireGraceSeconds: number | null;
  @ApiProperty({ enum: OVERLAP_POLICIES, example: 'skip' }) overlap: string;
  @ApiProperty({ type: Number, nullable: true, example: null }) maxRuntimeSeconds: number | null;
  @ApiProperty({ type: Number, nullable: true, example: null }) pauseAfterFailures: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: "Why the job is paused (an operator's note, or the scheduler's after failures)",
  })
  pauseNote: string | null;
  @ApiProperty({ example: true, description: 'Built-in jobs can be paused, not deleted' }) builtin: boolean;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-29T00:00:00+00:00',
    description: 'ISO-8601 in the job time zone; null when paused',
  })
  nextRunTime: string | null;
  @ApiProperty({ example: 3 }) version: number;
  @ApiProperty({ example: '2026-11-28T12:00:00.000Z' }) updatedAt: Date;
}

export class RunProgressDto {
  @ApiProperty({ example: 120_000 }) done: number;
  @ApiPropertyOptional({ example: 400_000, description: 'Absent when the task cannot know it' }) total?: number;
  @ApiProperty({ example: 'messages' }) unit: string;
}

export class JobRunDto {
  @ApiProperty({ format: 'uuid', example: '7d3e1f2a-9b8c-4d5e-8f6a-1b2c3d4e5f60' }) id: string;
  @ApiProperty({ example: 'daily_data_cleanup' }) jobId: string;
  @ApiProperty({ example: '2026-11-29T00:00:00.000Z' }) scheduledFor: Date;
  @ApiProperty({ enum: RUN_TRIGGERS, example: 'scheduled' }) trigger: string;
  @ApiProperty({ example: 'scheduler', description: '"scheduler", the API key role of a manual run, or "cli"' }) triggeredBy: string;
  @ApiProperty({ enum: RUN_STATUSES, example: 'succeeded' }) status: string;
  @ApiProperty({ example: 1, description: 'Above 1: a rerun of a fire whose earlier attempt was abandoned' }) attempt: number;
  @ApiProperty({ type: String, nullable: true, example: 'teddy-1:42:a1b2c3', description: 'The replica that ran it' }) owner: string | null;
  @ApiProperty({ example: '2026-11-29T00:00:00.004Z' }) startedAt: Date;
  @ApiProperty({ type: Date, nullable: true, example: '2026-11-29T00:00:03.120Z' }) finishedAt: Date | null;
  @ApiProperty({ type: Number, nullable: true, example: 3116 }) durationMs: number | null;
  @ApiProperty({
    type: Object,
    nullable: true,
    example: { reportId: '5b0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a92', messagesDeleted: 1204, conversationsDeleted: 31 },
  })
  summary: Record<string, unknown> | null;
  @ApiProperty({ type: String, nullable: true, example: null }) error: string | null;
  @ApiProperty({
    type: RunProgressDto,
    nullable: true,
    description: 'How far the run has got; written at least every 5 s while it runs, kept when it ends',
  })
  progress: RunProgressDto | null;
  @ApiProperty({ type: Date, nullable: true, example: null, description: 'When it times out (maxRuntimeSeconds); null: no limit' })
  deadlineAt: Date | null;
}

export class JobRunPageDto {
  @ApiProperty({ type: [JobRunDto], description: 'Newest first' }) items: JobRunDto[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor: string | null;
}

export class RunsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: RUN_STATUSES })
  @IsOptional()
  @IsIn(RUN_STATUSES)
  status?: (typeof RUN_STATUSES)[number];
}

export class WaitQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    default: 'true',
    description: 'false: answer 202 as soon as the run has started, with the run and a Location header to follow it',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'wait must be true or false' })
  wait?: 'true' | 'false';
}

export class RunAcceptedDto {
  @ApiProperty({ type: JobRunDto, description: 'The run as it started' }) run: JobRunDto;
}

export class TriggerResultDto {
  @ApiProperty({ type: JobRunDto, description: 'The run, as recorded in the ledger' }) run: JobRunDto;
  @ApiPropertyOptional({ type: Object, description: "The task's own record: the cleanup report, or the notice job summary" })
  result?: unknown;
}

export class TaskDto {
  @ApiProperty({ example: 'cleanup', description: 'What a job names to run it (@JobTask task, else the @Cron name)' }) name: string;
  @ApiProperty({ example: 'Deletes the messages and conversations older than their retention' }) description: string;
  @ApiProperty({ example: true }) supportsDryRun: boolean;
  @ApiProperty({ example: 'CleanupJobs.dailyDataCleanup', description: 'The @Cron-decorated method that declares it' }) declaredBy: string;
  @ApiProperty({ example: 'daily_data_cleanup', description: 'The built-in job it is declared as (the @Cron name)' }) jobId: string;
  @ApiProperty({
    example: '0 0 * * *',
    description: "The @Cron expression as declared; the job's schedule may differ (CLEANUP_CRON / NOTIFY_CRON, or an operator's change)",
  })
  cron: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'UTC',
    description: 'The @Cron timeZone as declared (null: none given); SCHEDULER_TIMEZONE, when set, wins',
  })
  timeZone: string | null;
}

class LastRunDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: RUN_STATUSES, example: 'succeeded' }) status: string;
  @ApiProperty({ enum: RUN_TRIGGERS, example: 'scheduled' }) trigger: string;
  @ApiProperty({ example: '2026-11-28T00:00:00.000Z' }) scheduled_for: string;
  @ApiProperty({ example: '2026-11-28T00:00:00.004Z' }) started_at: string;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T00:00:03.120Z' }) finished_at: string | null;
}

export class StatusJobDto {
  @ApiProperty({ example: 'daily_data_cleanup' }) id: string;
  @ApiProperty({ example: 'Daily Data Cleanup' }) name: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-29T00:00:00+00:00',
    description: 'ISO-8601 with the offset of the job time zone; null when paused',
  })
  next_run_time: string | null;
  @ApiProperty({ example: "cron[hour='0', minute='0']" }) trigger: string;
  @ApiProperty({ example: false }) paused: boolean;
  @ApiProperty({ example: 'UTC' }) timezone: string;
  @ApiProperty({ example: '0 0 * * *' }) cron: string;
  @ApiProperty({ example: 'cleanup', description: TASK_DESCRIPTION }) task: string;
  @ApiProperty({ example: 1 }) max_instances: number;
  @ApiProperty({ example: true }) coalesce: boolean;
  @ApiProperty({ type: Number, nullable: true, example: null }) misfire_grace_time: number | null;
  @ApiProperty({ enum: OVERLAP_POLICIES, example: 'skip' }) overlap: string;
  @ApiProperty({ type: Number, nullable: true, example: null }) max_runtime_seconds: number | null;
  @ApiProperty({ type: Number, nullable: true, example: null }) pause_after_failures: number | null;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why the job is paused' }) pause_note: string | null;
  @ApiProperty({ type: LastRunDto, nullable: true }) last_run: LastRunDto | null;
}

export class StatusDto {
  @ApiProperty({
    example: true,
    description: 'This replica claims and runs scheduled fires (false with SCHEDULER_ENABLED=false or while shutting down)',
  })
  scheduler_running: boolean;
  @ApiProperty({ example: 2 }) total_jobs: number;
  @ApiProperty({ example: 'UTC', description: 'SCHEDULER_TIMEZONE, the default zone of the jobs' }) timezone: string;
  @ApiProperty({ type: [StatusJobDto] }) jobs: StatusJobDto[];
}

export class BackfillDto {
  @ApiProperty({ example: '2026-11-01T00:00:00Z', description: 'Fires at or after this instant (ISO-8601 with an offset)' })
  @IsTimestamp()
  from: string;

  @ApiProperty({ example: '2026-11-08T00:00:00Z', description: 'Fires before this instant; not in the future' })
  @IsTimestamp()
  to: string;

  @ApiPropertyOptional({ example: false, default: false, description: 'List the fires and which are already in the ledger; run nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class BackfillResultDto {
  @ApiProperty({
    type: [String],
    example: ['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z'],
    description: 'Every fire of the schedule in [from, to), oldest first',
  })
  fires: string[];
  @ApiProperty({ example: 1, description: 'Fires queued by this request (0 on a dry run)' })
  created: number;
  @ApiProperty({ example: 1, description: 'Fires the ledger already had (run, skipped or queued): not run again' })
  existing: number;
}

import { ApiProperty } from '@nestjs/swagger';
import { CleanupReportDto } from '../../cleanup/dto/cleanup-report.dto';
import { NoticeJobDto } from '../../notifications/dto/notice.dto';
import { JobRun } from '../job-run.entity';
import type { RunResult } from '../run-executor';
import { JobRunDto } from './job.dto';

export class CleanupTriggerResultDto extends CleanupReportDto {
  @ApiProperty({ type: JobRunDto, description: 'The run, as recorded in the ledger' }) run: JobRunDto;
}

export class NoticeTriggerResultDto extends NoticeJobDto {
  @ApiProperty({ type: JobRunDto, description: 'The run, as recorded in the ledger' }) run: JobRunDto;
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
    progress: run.progress ?? null,
    deadlineAt: run.deadlineAt ?? null,
  };
}

/** The task's own record in the original shape (or, when the task threw, just the error), with the ledger run added. */
export type TriggerAnswer<R> = (R | { error: string | null }) & { run: JobRunDto };

export function withRun<R extends object>(outcome: RunResult<R>): TriggerAnswer<R> {
  return { ...(outcome.result ?? { error: outcome.run.error }), run: toRunDto(outcome.run) };
}

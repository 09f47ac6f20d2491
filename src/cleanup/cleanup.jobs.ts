import { Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { JobTask } from '../scheduler/job-task.decorator';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { CleanupReport } from './cleanup-report.entity';
import { CleanupService } from './cleanup.service';

/**
 * When the cleanup runs. The scheduler takes this method over (it is a stored job, claimed once across
 * replicas, in the run ledger, caught up after downtime, steerable); the `cron` package never fires it.
 * CLEANUP_CRON / SCHEDULER_TIMEZONE, when set, win over the expression and zone given here.
 */
@Injectable()
export class CleanupJobs {
  constructor(private readonly cleanup: CleanupService) {}

  @Cron('0 0 * * *', { name: 'daily_data_cleanup', timeZone: 'UTC' })
  @JobTask({
    task: 'cleanup',
    title: 'Daily Data Cleanup',
    description: 'Deletes the messages and conversations older than their retention, as of the scheduled time, and writes a cleanup report',
    supportsDryRun: true,
  })
  dailyDataCleanup(ctx: TaskContext): Promise<TaskOutcome<CleanupReport>> {
    return this.cleanup.runTask(ctx);
  }
}

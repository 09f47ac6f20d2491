import { Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { JobTask } from '../scheduler/job-task.decorator';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { JobSummary, NoticeService } from './notice.service';

/**
 * When the deletion notices are queued and sent. The scheduler takes this method over (see
 * CleanupJobs); NOTIFY_CRON / SCHEDULER_TIMEZONE, when set, win over the expression and zone given here.
 * Whatever schedule it ends up with must fire at least every NOTICE_DAYS_BEFORE days.
 */
@Injectable()
export class NoticeJobs {
  constructor(private readonly notices: NoticeService) {}

  @Cron('0 23 * * *', { name: 'cleanup_notifications', timeZone: 'UTC' })
  @JobTask({
    task: 'notices',
    title: 'Cleanup Warning Notifications',
    description:
      'Queues one deletion notice per guardian per cleanup run in the next NOTICE_DAYS_BEFORE days (never twice), then delivers what is due',
  })
  cleanupNotifications(ctx: TaskContext): Promise<TaskOutcome<JobSummary>> {
    return this.notices.runTask(ctx);
  }
}

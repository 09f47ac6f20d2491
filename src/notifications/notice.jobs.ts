import { Injectable } from '@nestjs/common';
import { Cron } from '@nestjs/schedule';
import { JobTask } from '../scheduler/job-task.decorator';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { JobSummary, NoticeService } from './notice.service';

/**
 * When the deletion notices are queued and sent. The scheduler takes this method over (see
 * CleanupJobs); NOTIFY_CRON / SCHEDULER_TIMEZONE, when set, win over the expression and zone given here.
 * Whatever schedule it ends up with must fire at least every NOTICE_DAYS_BEFORE days: a deletion is announced by
 * the last run that is still that far ahead of it, and a digest reaches to the run NOTICE_DIGEST_DAYS later.
 */
@Injectable()
export class NoticeJobs {
  constructor(private readonly notices: NoticeService) {}

  @Cron('0 23 * * *', { name: 'cleanup_notifications', timeZone: 'UTC' })
  @JobTask({
    task: 'notices',
    title: 'Cleanup Warning Notifications',
    description:
      'Queues a digest for each guardian with a deletion that the next run could no longer announce NOTICE_DAYS_BEFORE ahead, covering every deletion until the next digest (never a record twice), then delivers what is due',
  })
  cleanupNotifications(ctx: TaskContext): Promise<TaskOutcome<JobSummary>> {
    return this.notices.runTask(ctx);
  }
}

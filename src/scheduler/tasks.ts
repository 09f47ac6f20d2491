import { BadRequestException, Injectable } from '@nestjs/common';
import { CleanupReport } from '../cleanup/cleanup-report.entity';
import { CleanupService } from '../cleanup/cleanup.service';
import { Clock } from '../common/clock';
import { JobSummary, NoticeService } from '../notifications/notice.service';
import type { TaskContext, TaskOutcome } from './task-contract';

// The contract moved to task-contract.ts (importable by cleanup and notifications without a cycle); re-exported for existing imports.
export type { TaskContext, TaskOutcome } from './task-contract';

/** What each task's run produces: the service's own record of it (the cleanup report, the notice job summary). */
export interface TaskResults {
  cleanup: CleanupReport;
  notices: JobSummary;
}
export type TaskName = keyof TaskResults;

export interface Task<N extends TaskName = TaskName> {
  name: N;
  description: string;
  supportsDryRun: boolean;
  run(context: TaskContext): Promise<TaskOutcome<TaskResults[N]>>;
}

/** The work a job can run. A job names one of these; adding a job never adds code. */
@Injectable()
export class TaskRegistry {
  private readonly tasks: Map<string, Task>;

  constructor(cleanup: CleanupService, notices: NoticeService, clock: Clock) {
    const cleanupTask: Task<'cleanup'> = {
      name: 'cleanup',
      description:
        'Deletes the messages and conversations older than their retention, as of the scheduled time, and writes a cleanup report',
      supportsDryRun: true,
      async run(ctx) {
        // The cutoff comes from the scheduled time, not the start: a catch-up run deletes exactly
        // what the missed run would have, and never anything younger.
        const report = await cleanup.run({
          at: ctx.scheduledFor,
          trigger: ctx.trigger,
          triggeredBy: ctx.triggeredBy,
          dryRun: ctx.dryRun,
          fence: ctx.fence,
        });
        const summary = {
          reportId: report.id,
          dryRun: report.dryRun,
          cutoff: report.cutoff.toISOString(),
          messagesDeleted: report.messagesDeleted,
          conversationsDeleted: report.conversationsDeleted,
          batches: report.batches,
        };
        if (report.status !== 'succeeded')
          return { status: 'failed', error: report.error ?? `cleanup ${report.status}`, summary, result: report };
        return { status: 'succeeded', summary, result: report };
      },
    };
    const noticesTask: Task<'notices'> = {
      name: 'notices',
      description:
        'Queues one deletion notice per guardian per cleanup run in the next NOTICE_DAYS_BEFORE days (never twice), then delivers what is due',
      supportsDryRun: false,
      async run(ctx) {
        // Notices look ahead from when the run actually starts, not from its scheduled time: a late
        // (catch-up) run cannot warn about a cleanup that has already happened, and the notice for
        // each upcoming one was queued by an earlier run inside its window.
        const job = await notices.runJob(clock.now(), ctx.cleanups, ctx.fence);
        const summary = {
          windowUntil: job.windowUntil,
          cleanupRuns: job.cleanupRuns.length,
          noticesDue: job.noticesDue,
          noticesCreated: job.noticesCreated,
          skippedGuardians: job.skippedGuardians,
          sent: job.delivery.sent,
          failed: job.delivery.failed,
          dead: job.delivery.dead,
        };
        return { status: 'succeeded', summary, result: job };
      },
    };
    this.tasks = new Map<string, Task>([
      [cleanupTask.name, cleanupTask],
      [noticesTask.name, noticesTask],
    ] as [string, Task][]);
  }

  names(): string[] {
    return [...this.tasks.keys()];
  }

  list(): Task[] {
    return [...this.tasks.values()];
  }

  find(name: string): Task | undefined {
    return this.tasks.get(name);
  }

  get(name: string): Task {
    const task = this.tasks.get(name);
    if (!task) throw new BadRequestException(`task: "${name}" is not a registered task (${this.names().join(', ')})`);
    return task;
  }
}

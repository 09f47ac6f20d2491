import { BadRequestException, Injectable } from '@nestjs/common';
import { CleanupService } from '../cleanup/cleanup.service';
import { Clock } from '../common/clock';
import { NoticeService } from '../notifications/notice.service';
import type { RunTrigger } from './job-run.entity';

export interface TaskContext {
  jobId: string;
  runId: string;
  /** The fire this run executes (or, for a manual run, the time it stands for). */
  scheduledFor: Date;
  trigger: RunTrigger;
  triggeredBy: string;
  dryRun: boolean;
}

export interface TaskOutcome {
  /** What the run did, stored in the ledger (counts and ids, never personal data). */
  summary: Record<string, unknown>;
  /** The service's own record of the run (the cleanup report, the notice job summary), for the API. */
  result: unknown;
}

/** A task run that ended badly but has something to show for it (e.g. a failed cleanup's report). */
export class TaskFailed extends Error {
  constructor(
    message: string,
    readonly outcome: TaskOutcome,
  ) {
    super(message);
  }
}

export interface Task {
  name: string;
  description: string;
  supportsDryRun: boolean;
  run(context: TaskContext): Promise<TaskOutcome>;
}

/** The work a job can run. A job names one of these; adding a job never adds code. */
@Injectable()
export class TaskRegistry {
  private readonly tasks: Map<string, Task>;

  constructor(cleanup: CleanupService, notices: NoticeService, clock: Clock) {
    const list: Task[] = [
      {
        name: 'cleanup',
        description: 'Deletes the messages and conversations older than their retention, as of the scheduled time, and writes a cleanup report',
        supportsDryRun: true,
        async run(ctx) {
          // The cutoff comes from the scheduled time, not the start: a catch-up run deletes exactly
          // what the missed run would have, and never anything younger.
          const report = await cleanup.run({ at: ctx.scheduledFor, trigger: ctx.trigger, triggeredBy: ctx.triggeredBy, dryRun: ctx.dryRun });
          const summary = {
            reportId: report.id,
            dryRun: report.dryRun,
            cutoff: report.cutoff.toISOString(),
            messagesDeleted: report.messagesDeleted,
            conversationsDeleted: report.conversationsDeleted,
            batches: report.batches,
          };
          if (report.status !== 'succeeded') throw new TaskFailed(report.error ?? `cleanup ${report.status}`, { summary, result: report });
          return { summary, result: report };
        },
      },
      {
        name: 'notices',
        description: 'Queues one deletion notice per guardian per cleanup run in the next NOTICE_DAYS_BEFORE days (never twice), then delivers what is due',
        supportsDryRun: false,
        async run() {
          // Notices look ahead from when the run actually starts, not from its scheduled time: a late
          // (catch-up) run cannot warn about a cleanup that has already happened, and the notice for
          // each upcoming one was queued by an earlier run inside its window.
          const job = await notices.runJob(clock.now());
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
          return { summary, result: job };
        },
      },
    ];
    this.tasks = new Map(list.map((t) => [t.name, t]));
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

import { BadRequestException, Injectable } from '@nestjs/common';
import { CleanupReport } from '../cleanup/cleanup-report.entity';
import { CleanupService } from '../cleanup/cleanup.service';
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

  constructor(cleanup: CleanupService, notices: NoticeService) {
    const cleanupTask: Task<'cleanup'> = {
      name: 'cleanup',
      description:
        'Deletes the messages and conversations older than their retention, as of the scheduled time, and writes a cleanup report',
      supportsDryRun: true,
      run: (ctx) => cleanup.runTask(ctx),
    };
    const noticesTask: Task<'notices'> = {
      name: 'notices',
      description:
        'Queues one deletion notice per guardian per cleanup run in the next NOTICE_DAYS_BEFORE days (never twice), then delivers what is due',
      supportsDryRun: false,
      run: (ctx) => notices.runTask(ctx),
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

import { SetMetadata } from '@nestjs/common';
import type { TaskContext, TaskOutcome } from './task-contract';
import type { TaskResults } from './tasks';

/*
 * Imported at run time by the modules that declare jobs (cleanup, notifications): this file imports
 * nothing of the project at run time (only types, erased by the compiler), so it adds no edge from
 * those modules back into the scheduler's code, and no cycle (task-contract.spec.ts checks).
 */

/** Metadata key of @JobTask. */
export const JOB_TASK = 'teddy:job-task';

export interface JobTaskOptions<N extends string = string> {
  /**
   * The task's name, stored in each job row that runs it (scheduler_job.task, at most 32 characters:
   * lower-case letters, digits, _ . -). Never rename one that has shipped: stored jobs name it.
   * Defaults to the @Cron name.
   */
  task?: N;
  /** The built-in job's display name (its initial name; an operator may rename the job). Defaults to the @Cron name. */
  title?: string;
  /** What a run does, for GET /admin/scheduler/tasks. */
  description?: string;
  /** Whether the method honours TaskContext.dryRun (count, change nothing). Default false: a dry run is refused with a 400. */
  supportsDryRun?: boolean;
}

type ResultOf<N extends string> = N extends keyof TaskResults ? TaskResults[N] : unknown;

/** What a @JobTask method must be: it takes the run's context and answers with its outcome (typed, for a task of TaskResults). */
export type TaskMethod<N extends string> = (context: TaskContext) => Promise<TaskOutcome<ResultOf<N>>>;

/**
 * Describes the task a @Cron-declared method is: its name, its job's display name, a description, and
 * whether it has a dry run. Goes with @Cron, which gives the job's id (its `name`), cron expression and
 * time zone:
 *
 *   @Cron('0 0 * * *', { name: 'daily_data_cleanup', timeZone: 'UTC' })
 *   @JobTask({ task: 'cleanup', title: 'Daily Data Cleanup', description: '...', supportsDryRun: true })
 *   dailyDataCleanup(ctx: TaskContext): Promise<TaskOutcome<CleanupReport>> { return this.cleanup.runTask(ctx); }
 *
 * The scheduler discovers every @Cron method (tasks.ts) and runs it as a stored job: claimed once across
 * replicas, recorded in the run ledger, caught up after downtime, steerable through the admin API. The
 * `cron` package never fires it (ScheduleModule.forRoot({ cronJobs: false })).
 */
export function JobTask<N extends string>(
  options: JobTaskOptions<N>,
): <M extends TaskMethod<N>>(target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M>) => void {
  return (target, key, descriptor) => {
    SetMetadata(JOB_TASK, options)(target, key, descriptor);
  };
}

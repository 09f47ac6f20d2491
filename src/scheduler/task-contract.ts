import type { FireCalendar } from '../common/cron/fire-calendar';
import type { WriteFence } from '../database/write-fence';
import type { RunProgress, RunTrigger } from './job-run.entity';

/*
 * The contract between the scheduler and the work it runs: what a task is handed (TaskContext) and
 * what it answers (TaskOutcome).
 *
 * Why this file sits here: the scheduler defines the contract, and the modules that own the work
 * (cleanup, notifications) implement it in their own @Cron-declared methods. Data flows one way,
 * scheduler → (cleanup | notifications), so those modules must not load the scheduler at run time.
 * This file therefore holds types only, and imports only types: `import type` from it is erased by
 * the compiler, and no runtime edge (and no import cycle) leads from cleanup or notifications back
 * into the scheduler. Keep it that way: no values, no runtime imports (task-contract.spec.ts checks).
 */

export interface TaskContext {
  jobId: string;
  runId: string;
  /** The fire this run executes (or, for a manual run, the time it stands for). */
  scheduledFor: Date;
  trigger: RunTrigger;
  triggeredBy: string;
  dryRun: boolean;
  /** When the cleanups will run, from the stored jobs (the notices warn about each one). */
  cleanups: FireCalendar;
  /** When the notice runs will be, from the stored jobs (a digest covers what cannot wait for the next one). */
  notices: FireCalendar;
  /** The run's lease, as a fence on its writes and a signal to stop. */
  fence: WriteFence;
  /** Reports how far the run has got; the executor writes it to the run's row every few seconds. */
  progress: (p: RunProgress) => void;
}

/**
 * How a run ended: one typed value from the task, through the ledger, to the HTTP answer. A task
 * returns it, failed or not; a task that throws is turned into a failed outcome with nothing to show.
 */
export type TaskOutcome<R> =
  | { status: 'succeeded'; summary: Record<string, unknown>; result: R }
  /** A failed run may still have something to show for it (a failed cleanup's report). */
  | { status: 'failed'; error: string; summary: Record<string, unknown> | null; result?: R };

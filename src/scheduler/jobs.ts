import { OverlapPolicy } from './job.entity';
import { DEFAULT_TIMEZONE, Env } from '../config/env.validation';
import type { Task } from './tasks';

/** The original service's job ids, declared by @Cron in cleanup/cleanup.jobs.ts and notifications/notice.jobs.ts. */
export const CLEANUP_JOB_ID = 'daily_data_cleanup';
export const NOTICE_JOB_ID = 'cleanup_notifications';

/**
 * The environment variables that set a declared job's cron expression (the original service's two).
 * The one table of them: a job not listed has none.
 */
export const CRON_VARIABLES: ReadonlyMap<string, 'CLEANUP_CRON' | 'NOTIFY_CRON'> = new Map([
  [CLEANUP_JOB_ID, 'CLEANUP_CRON'],
  [NOTICE_JOB_ID, 'NOTIFY_CRON'],
] as const);

/** Built-in jobs in the original service's order first, then the others by id. */
export function compareBuiltinIds(a: string, b: string): number {
  const order = [...CRON_VARIABLES.keys()];
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** A built-in job as the configuration says it should run (until an operator sets its schedule). */
export interface BuiltinJob {
  id: string;
  name: string;
  task: string;
  cron: string;
  timezone: string;
  /** Where the cron expression came from: the environment variable, or the declaration. */
  cronFrom: string;
  /** Where the time zone came from. */
  timezoneFrom: string;
}

/**
 * The built-in jobs: one per @Cron-declared method (TaskRegistry). Their schedule, from the first
 * that gives one:
 * - cron: a schedule stored by an operator (PATCH; JobCatalogue.ensureBuiltins keeps it), then the
 *   job's environment variable (CRON_VARIABLES) when set, then the @Cron expression;
 * - time zone: a stored schedule, then SCHEDULER_TIMEZONE when set, then the @Cron timeZone, then UTC.
 *   SCHEDULER_TIMEZONE is the deployment's word, as CLEANUP_CRON is: it wins over the code's, and a
 *   deployment that sets it gets every job in one zone. Only a variable that is set counts: unset (or
 *   empty) is no value, not "UTC" (Env declares these three without a default).
 */
export function builtinJobs(tasks: readonly Task[], env: Env): BuiltinJob[] {
  return [...tasks]
    .sort((a, b) => compareBuiltinIds(a.job.id, b.job.id))
    .map((task) => {
      const declared = `@Cron on ${task.declaredBy}`;
      const variable = CRON_VARIABLES.get(task.job.id);
      const fromEnv = variable ? env[variable] : undefined;
      const [timezone, timezoneFrom] = env.SCHEDULER_TIMEZONE
        ? [env.SCHEDULER_TIMEZONE, 'SCHEDULER_TIMEZONE']
        : task.job.timeZone
          ? [task.job.timeZone, declared]
          : [DEFAULT_TIMEZONE, 'the default zone'];
      return {
        id: task.job.id,
        name: task.job.name,
        task: task.name,
        cron: fromEnv ?? task.job.cron,
        timezone,
        cronFrom: fromEnv ? variable! : declared,
        timezoneFrom,
      };
    });
}

/**
 * Job option defaults. APScheduler's meanings, better values than the old service's
 * (max_instances 3, coalesce false, misfire grace 30 s, which silently dropped a daily run missed by
 * half a minute):
 * - max_instances 1: two cleanups at once only compete for the same rows.
 * - coalesce: fires missed during downtime run once, as the latest of them.
 * - misfire grace: none (null). Both tasks are safe to run late: the cleanup's cutoff comes from the
 *   scheduled time, so a late run deletes exactly what the missed one would have, and the notices
 *   look ahead from when they run. A cleanup missed at midnight therefore runs as soon as a replica
 *   is up, not a day later. An operator can set a grace per job.
 * - overlap skip: a fire that finds the job running is recorded skipped (with max_instances 1, the
 *   old service's behaviour). No run timeout and no pause after failures unless an operator sets them.
 */
export const DEFAULT_JOB_OPTIONS = {
  maxInstances: 1,
  coalesce: true,
  misfireGraceSeconds: null as number | null,
  overlap: 'skip' as OverlapPolicy,
  maxRuntimeSeconds: null as number | null,
  pauseAfterFailures: null as number | null,
  pauseNote: null as string | null,
};

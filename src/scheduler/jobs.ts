import { OverlapPolicy } from './job.entity';
import { Env } from '../config/env.validation';

export const CLEANUP_JOB_ID = 'daily_data_cleanup';
export const NOTICE_JOB_ID = 'cleanup_notifications';

/** The jobs every deployment has, with the original service's ids and names, in its order. */
export const BUILTIN_JOBS = (env: Env) => [
  { id: CLEANUP_JOB_ID, name: 'Daily Data Cleanup', task: 'cleanup', cron: env.CLEANUP_CRON, envName: 'CLEANUP_CRON' },
  { id: NOTICE_JOB_ID, name: 'Cleanup Warning Notifications', task: 'notices', cron: env.NOTIFY_CRON, envName: 'NOTIFY_CRON' },
];

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

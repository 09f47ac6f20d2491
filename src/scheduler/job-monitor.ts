import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, Histogram } from 'prom-client';
import { CronSchedule } from '../common/cron';
import { AppErrors } from '../metrics/app-errors.service';
import { jobIntervalSeconds } from './job-interval';
import { JobRun, RUN_TRIGGERS } from './job-run.entity';
import type { AbandonedRun, RunningRun } from './ledger.service';

export const JOB_RUNS_TOTAL = 'teddy_job_runs_total';
export const JOB_DURATION = 'teddy_job_duration_seconds';
export const JOB_LAST_SUCCESS = 'teddy_job_last_success_timestamp_seconds';
export const JOB_NEXT_RUN = 'teddy_job_next_run_timestamp_seconds';
export const JOB_INTERVAL = 'teddy_job_interval_seconds';
export const SCHEDULER_MISSED = 'teddy_scheduler_missed_total';
export const JOB_RUNS_STARTED = 'teddy_job_runs_started_total';
export const JOB_RUNNING = 'teddy_job_running';
export const JOB_PAUSED = 'teddy_job_paused';

export interface MissedEvent {
  jobId: string;
  /** Fires that will not run. */
  count: number;
  first: Date;
  latest: Date;
  graceSeconds: number;
}

export interface MaxInstancesEvent {
  jobId: string;
  scheduledFor: Date;
  /** The skipped row, if this replica recorded it. */
  run?: JobRun;
  running: RunningRun[];
}

/** Terminal statuses counted by teddy_job_runs_total (exported at 0 for every job, so alerts see the series from the start). */
const COUNTED = ['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped', 'abandoned'] as const;

/**
 * What happens to runs, as logs and metrics. The engine calls it directly at each step of a run
 * (no event bus: a reader follows a run's outcome from the executor to here by its calls).
 */
@Injectable()
export class JobMonitor {
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly appErrors: AppErrors,
    @InjectMetric(JOB_RUNS_TOTAL) private readonly runs: Counter<'job_id' | 'status'>,
    @InjectMetric(JOB_DURATION) private readonly duration: Histogram<'job_id'>,
    @InjectMetric(JOB_LAST_SUCCESS) private readonly lastSuccess: Gauge<'job_id'>,
    @InjectMetric(JOB_NEXT_RUN) private readonly nextRun: Gauge<'job_id'>,
    @InjectMetric(JOB_INTERVAL) private readonly interval: Gauge<'job_id'>,
    @InjectMetric(SCHEDULER_MISSED) private readonly missedFires: Counter<'job_id'>,
    @InjectMetric(JOB_RUNS_STARTED) private readonly startedRuns: Counter<'job_id' | 'trigger'>,
    @InjectMetric(JOB_RUNNING) private readonly runningNow: Gauge<'job_id'>,
    @InjectMetric(JOB_PAUSED) private readonly pausedNow: Gauge<'job_id'>,
  ) {}

  started(run: JobRun): void {
    this.startedRuns.inc({ job_id: run.jobId, trigger: run.trigger });
    this.logger.log(
      {
        runId: run.id,
        jobId: run.jobId,
        trigger: run.trigger,
        attempt: run.attempt,
        scheduledFor: run.scheduledFor.toISOString(),
        lagMs: run.startedAt.getTime() - run.scheduledFor.getTime(),
      },
      `job ${run.jobId} started (${run.trigger}${run.attempt > 1 ? `, attempt ${run.attempt}` : ''}) for ${run.scheduledFor.toISOString()}`,
    );
  }

  /** A run that ended, as recorded in the ledger. */
  finished(run: JobRun): void {
    this.runs.inc({ job_id: run.jobId, status: run.status });
    this.duration.observe({ job_id: run.jobId }, (run.durationMs ?? 0) / 1000);
    if (run.status === 'succeeded') {
      this.lastSuccess.set({ job_id: run.jobId }, (run.finishedAt ?? new Date()).getTime() / 1000);
      this.logger.log(
        { runId: run.id, jobId: run.jobId, durationMs: run.durationMs, summary: run.summary },
        `job ${run.jobId} succeeded in ${run.durationMs} ms`,
      );
    } else {
      this.appErrors.count('scheduled_job');
      this.logger.error(
        { runId: run.id, jobId: run.jobId, durationMs: run.durationMs, error: run.error },
        `job ${run.jobId} failed: ${run.error}`,
      );
    }
  }

  /** A run taken away from its owner (abandoned, cancelled, timed out), counted by whoever took it. */
  takenAway(run: AbandonedRun): void {
    this.runs.inc({ job_id: run.jobId, status: run.status });
    if (run.status === 'timed_out') this.appErrors.count('scheduled_job');
    const log = run.status === 'cancelled' ? 'log' : 'warn';
    this.logger[log](
      { runId: run.id, jobId: run.jobId, owner: run.owner, status: run.status, scheduledFor: run.scheduledFor.toISOString() },
      `run ${run.id} of ${run.jobId} ${run.status.replace('_', ' ')}: ${run.reason ?? `its replica (${run.owner}) stopped renewing its lease`}`,
    );
  }

  /** A fire waiting for room (overlap buffer_one), and the buffered fires it replaced (counted skipped). */
  buffered(run: JobRun, replaced: { id: string; scheduledFor: Date }[], running: RunningRun[]): void {
    if (replaced.length) this.runs.inc({ job_id: run.jobId, status: 'skipped' }, replaced.length);
    this.logger.log(
      { runId: run.id, jobId: run.jobId, scheduledFor: run.scheduledFor.toISOString(), replaced: replaced.map((r) => r.id) },
      `job ${run.jobId}: fire ${run.scheduledFor.toISOString()} waits for ${running.map((r) => r.id).join(', ')} (overlap buffer_one)` +
        (replaced.length ? `; it replaces the buffered fire ${replaced.map((r) => r.scheduledFor.toISOString()).join(', ')}` : ''),
    );
  }

  /** Runs of the job in flight on this replica. */
  running(jobId: string, n: number): void {
    this.runningNow.set({ job_id: jobId }, n);
  }

  missed(e: MissedEvent): void {
    this.missedFires.inc({ job_id: e.jobId }, e.count);
    this.runs.inc({ job_id: e.jobId, status: 'skipped' });
    this.logger.warn(
      { jobId: e.jobId, missed: e.count, first: e.first.toISOString(), latest: e.latest.toISOString(), graceSeconds: e.graceSeconds },
      `job ${e.jobId}: ${e.count} fire(s) from ${e.first.toISOString()} to ${e.latest.toISOString()} missed by more than the misfire grace (${e.graceSeconds} s); not run`,
    );
  }

  atMaxInstances(e: MaxInstancesEvent): void {
    if (e.run) this.runs.inc({ job_id: e.jobId, status: 'skipped' });
    this.logger.warn(
      { jobId: e.jobId, scheduledFor: e.scheduledFor.toISOString(), running: e.running.map((r) => r.id) },
      `job ${e.jobId}: fire ${e.scheduledFor.toISOString()} skipped, already at max_instances (running: ${e.running.map((r) => r.id).join(', ')})`,
    );
  }

  /** Exports a job's series, at 0 where nothing happened yet. */
  known(jobId: string): void {
    for (const status of COUNTED) this.runs.inc({ job_id: jobId, status }, 0);
    this.missedFires.inc({ job_id: jobId }, 0);
    for (const trigger of RUN_TRIGGERS) this.startedRuns.inc({ job_id: jobId, trigger }, 0);
    this.runningNow.set({ job_id: jobId }, 0);
  }

  paused(jobId: string, paused: boolean): void {
    this.pausedNow.set({ job_id: jobId }, paused ? 1 : 0);
  }

  /** The cluster-wide last success, read from the ledger (so it is right after a restart, and counts other replicas' runs). */
  lastSucceeded(jobId: string, at: Date | undefined): void {
    if (at) this.lastSuccess.set({ job_id: jobId }, at.getTime() / 1000);
  }

  next(jobId: string, at: Date | null): void {
    if (at) this.nextRun.set({ job_id: jobId }, at.getTime() / 1000);
    else this.nextRun.remove({ job_id: jobId });
  }

  /** The job's longest wait between fires, which the alert thresholds add up; absent while paused or unusable. */
  scheduled(jobId: string, schedule: CronSchedule | null, nextFire: Date | null): void {
    const seconds = schedule && nextFire ? jobIntervalSeconds(schedule, nextFire) : null;
    if (seconds === null) this.interval.remove({ job_id: jobId });
    else this.interval.set({ job_id: jobId }, seconds);
  }

  forget(jobId: string): void {
    this.nextRun.remove({ job_id: jobId });
    this.interval.remove({ job_id: jobId });
    this.lastSuccess.remove({ job_id: jobId });
    this.pausedNow.remove({ job_id: jobId });
  }
}

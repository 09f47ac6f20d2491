import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { CleanupModule } from '../cleanup/cleanup.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { JobCatalogue } from './job-catalogue';
import {
  JOB_DURATION,
  JOB_INTERVAL,
  JOB_LAST_SUCCESS,
  JOB_NEXT_RUN,
  JOB_PAUSED,
  JOB_RUNNING,
  JOB_RUNS_STARTED,
  JOB_RUNS_TOTAL,
  JobMonitor,
  SCHEDULER_MISSED,
} from './job-monitor';
import { JobsService } from './jobs.service';
import { JobLedger } from './ledger.service';
import { ManualTriggersController } from './manual-triggers.controller';
import { PreviewController } from './preview.controller';
import { RunControls } from './run-controls.service';
import { RunControlsController } from './run-controls.controller';
import { RunExecutor } from './run-executor';
import { SchedulerController } from './scheduler.controller';
import { SchedulerService } from './scheduler.service';
import { SCHEDULER_TIMERS, SchedulerTimers } from './scheduler.timers';
import { TaskRegistry } from './tasks';

/**
 * Job catalogue, fire planning, run ledger, cluster-safe claiming, catch-up, steering and status. Runs
 * every @Cron-declared method of the application as a stored job (tasks.ts finds them).
 */
@Module({})
export class SchedulerModule {
  /** `timers: false` starts the engine without arming timers (tests with a fake clock, the command line). */
  static forRoot(options: { timers?: boolean } = {}): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [
        // cronJobs: false: @nestjs/schedule's explorer skips every @Cron method, so the `cron` package never
        // creates (nor fires) a CronJob for one; this engine runs them. Its registry still holds the engine's
        // own intervals and timeout (scheduler.timers.ts), and @Interval / @Timeout work as usual.
        ScheduleModule.forRoot({ cronJobs: false }),
        DiscoveryModule,
        CleanupModule,
        NotificationsModule,
      ],
      controllers: [SchedulerController, ManualTriggersController, RunControlsController, PreviewController],
      providers: [
        { provide: SCHEDULER_TIMERS, useValue: options.timers ?? true },
        TaskRegistry,
        JobLedger,
        JobMonitor,
        JobCatalogue,
        RunExecutor,
        SchedulerService,
        SchedulerTimers,
        JobsService,
        RunControls,
        makeCounterProvider({
          name: JOB_RUNS_TOTAL,
          help: 'Job runs by job and final status (succeeded, failed, cancelled, timed_out, skipped, abandoned)',
          labelNames: ['job_id', 'status'],
        }),
        makeHistogramProvider({
          name: JOB_DURATION,
          help: 'Duration of finished job runs, by job',
          labelNames: ['job_id'],
          buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
        }),
        makeGaugeProvider({
          name: JOB_LAST_SUCCESS,
          help: 'When a run of the job last succeeded (Unix seconds, any replica, read from the run ledger)',
          labelNames: ['job_id'],
        }),
        makeGaugeProvider({
          name: JOB_NEXT_RUN,
          help: 'When the job fires next (Unix seconds); absent while paused',
          labelNames: ['job_id'],
        }),
        makeGaugeProvider({
          name: JOB_INTERVAL,
          help: 'Longest wait between consecutive fires of the job over the next two months (seconds); absent while paused',
          labelNames: ['job_id'],
        }),
        makeCounterProvider({
          name: JOB_RUNS_STARTED,
          help: 'Job runs started, by job and trigger (scheduled, catch-up, manual, cli, backfill)',
          labelNames: ['job_id', 'trigger'],
        }),
        makeGaugeProvider({
          name: JOB_RUNNING,
          help: 'Runs of the job in flight on this replica (sum over replicas for the cluster)',
          labelNames: ['job_id'],
        }),
        makeGaugeProvider({
          name: JOB_PAUSED,
          help: 'Whether the job is paused (1) or not (0), by an operator or by itself after failures (read from the stored job)',
          labelNames: ['job_id'],
        }),
        makeCounterProvider({
          name: SCHEDULER_MISSED,
          help: 'Fires that did not run because they were later than the misfire grace',
          labelNames: ['job_id'],
        }),
      ],
      exports: [SchedulerService],
    };
  }
}

import { Injectable } from '@nestjs/common';
import { CronSchedule } from '../common/cron';
import { Env } from '../config/env.validation';

/** When cleanups run: fire times in (from, until], ascending, at most `max`. */
export type CleanupTimes = (from: Date, until: Date, max: number) => Date[];

/**
 * When the cleanups will run, for the notices (which warn about each one) and the preview (which
 * shows the next one). Until the scheduler module says otherwise, CLEANUP_CRON in
 * SCHEDULER_TIMEZONE; the scheduler, which knows the stored jobs (an operator may have moved,
 * paused or added cleanup jobs), hands its own answer down at start-up. Data still flows one way:
 * this module never calls the scheduler, the scheduler plugs a function in.
 */
@Injectable()
export class CleanupSchedule {
  private source: CleanupTimes;

  constructor(env: Env) {
    const schedule = CronSchedule.parse(env.CLEANUP_CRON, env.SCHEDULER_TIMEZONE);
    this.source = (from, until, max) => schedule.between(from, until, max);
  }

  use(source: CleanupTimes): void {
    this.source = source;
  }

  between(from: Date, until: Date, max = 10_000): Date[] {
    return this.source(from, until, max);
  }

  /** The next cleanup strictly after `after` within a year and a day, if any. */
  next(after: Date): Date | undefined {
    return this.source(after, new Date(after.getTime() + 366 * 86_400_000), 1)[0];
  }
}

import { CronSchedule } from '../common/cron';

/**
 * When the cleanups will run: the merged fire times of every active cleanup schedule. A value, not a
 * service: the scheduler, which knows the stored jobs (an operator may have moved, paused or added
 * cleanup jobs), builds one and passes it to the notices and the preview with each call. So cleanup
 * never learns of the scheduler, and data flows one way, as the imports show.
 */
export class CleanupCalendar {
  constructor(private readonly schedules: readonly CronSchedule[]) {}

  /** Fire times in (from, until], ascending, at most `max`; a time two jobs share counts once. */
  between(from: Date, until: Date, max = 10_000): Date[] {
    const all = new Map<number, Date>();
    for (const schedule of this.schedules) {
      for (const at of schedule.between(from, until, max)) all.set(at.getTime(), at);
    }
    return [...all.values()].sort((a, b) => a.getTime() - b.getTime()).slice(0, max);
  }

  /** The next cleanup strictly after `after` within a year and a day, if any. */
  next(after: Date): Date | undefined {
    return this.between(after, new Date(after.getTime() + 366 * 86_400_000), 1)[0];
  }
}

import { CronSchedule } from './schedule';

const DAY_MS = 86_400_000;
/** How far back lastBefore looks, window after window: each is searched only if the one before held no fire. */
const LOOKBACK_MS = [60_000, 3_600_000, DAY_MS, 8 * DAY_MS, 32 * DAY_MS, 367 * DAY_MS];

/**
 * When a set of jobs will run: the merged fire times of their schedules (the active cleanup jobs; the
 * notice jobs). A value, not a service: the scheduler, which knows the stored jobs (an operator may have
 * moved, paused or added jobs), builds one and passes it to the notices and the preview with each call.
 * So cleanup and notifications never learn of the scheduler, and data flows one way, as the imports show.
 */
export class FireCalendar {
  constructor(private readonly schedules: readonly CronSchedule[]) {}

  get empty(): boolean {
    return this.schedules.length === 0;
  }

  /** Fire times in (from, until], ascending, at most `max`; a time two jobs share counts once. */
  between(from: Date, until: Date, max = 10_000): Date[] {
    const all = new Map<number, Date>();
    for (const schedule of this.schedules) {
      for (const at of schedule.between(from, until, max)) all.set(at.getTime(), at);
    }
    return [...all.values()].sort((a, b) => a.getTime() - b.getTime()).slice(0, max);
  }

  /** The next fire strictly after `after` within a year and a day, if any. */
  next(after: Date): Date | undefined {
    return this.between(after, new Date(after.getTime() + 366 * DAY_MS), 1)[0];
  }

  /** The first fire at or after `at` (fires fall on whole seconds), within a year and a day. */
  atOrAfter(at: Date): Date | undefined {
    return this.next(new Date(at.getTime() - 1));
  }

  /**
   * The last fire strictly before `before`, within a year, if any. Its cost does not grow with how often
   * the jobs fire: it enumerates one window, the first (of growing ones) that holds a fire at all.
   */
  lastBefore(before: Date): Date | undefined {
    const until = new Date(before.getTime() - 1);
    for (const span of LOOKBACK_MS) {
      const fires = this.between(new Date(until.getTime() - span), until, 100_000);
      if (fires.length > 0) return fires[fires.length - 1];
    }
    return undefined;
  }
}

import { CronSchedule, longestGapHours } from '../common/cron';

/**
 * The longest wait between two consecutive fires of a schedule, in seconds, counted from `firstFire`
 * (a fire of the schedule) over the following two months; null with fewer than two fires there.
 * The alert thresholds scale with it: a job that fires every 6 hours is overdue long before a
 * weekday-only job, whose longest wait is the weekend. The longest gap rather than the usual one,
 * so that the alerts never fire on a gap the schedule itself makes (a weekend, a DST night).
 */
export function jobIntervalSeconds(schedule: CronSchedule, firstFire: Date): number | null {
  // Fires are counted strictly after `from`: a millisecond earlier keeps `firstFire` itself.
  const hours = longestGapHours(schedule.expression, schedule.timeZone, new Date(firstFire.getTime() - 1));
  return Number.isFinite(hours) ? Math.round(hours * 3600) : null;
}

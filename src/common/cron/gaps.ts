import { CronSchedule } from './schedule';

/** The fire times of a cron expression in a zone, strictly after `from` and at or before `until` (DST-correct). */
export function fireTimesBetween(expr: string, timeZone: string, from: Date, until: Date, max = 10_000): Date[] {
  return CronSchedule.parse(expr, timeZone).between(from, until, max);
}

/** The longest pause between fires of a cron expression over the 62 days from `from`, in hours (Infinity with fewer than two fires). */
export function longestGapHours(expr: string, timeZone: string, from: Date = new Date()): number {
  // Two months show any weekly or monthly pattern; 500 fires are enough, since a cron that fires
  // that often has short gaps anyway.
  const fires = fireTimesBetween(expr, timeZone, from, new Date(from.getTime() + 62 * 86_400_000), 500);
  if (fires.length < 2) return Infinity;
  let longest = 0;
  for (let i = 1; i < fires.length; i++) longest = Math.max(longest, fires[i].getTime() - fires[i - 1].getTime());
  return longest / 3_600_000;
}

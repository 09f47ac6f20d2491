import { CronTime } from 'cron';
import { CronSchedule, isValidTimeZone } from '../common/cron';

export { isValidTimeZone };

/**
 * Cron expressions here have 5 fields, or 6 with a leading seconds field. Our own parser
 * (src/common/cron.ts, which computes the fire times) decides; the cron package, which
 * @nestjs/schedule brings, must accept the expression too, so nothing valid here is refused there.
 */
export function cronProblem(expr: string): string | undefined {
  // Stored in a varchar(200) column: longer is refused here, not by the database.
  if (expr.length > 200) return `must be at most 200 characters long, got ${expr.length}`;
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields (or 6 with seconds), got ${fields.length}`;
  }
  try {
    CronSchedule.parse(expr, 'UTC');
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const result = CronTime.validateCronExpression(expr.trim());
  return result.valid ? undefined : (result.error?.message ?? 'invalid');
}

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

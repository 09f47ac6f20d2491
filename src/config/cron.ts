import { CronTime } from 'cron';

/**
 * Cron expressions here have 5 fields, or 6 with a leading seconds field.
 * The cron library accepts more than that (nicknames like @daily, a 7th field in some versions),
 * so the field count is checked before the library validates the ranges.
 */
export function cronProblem(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `must have 5 fields (or 6 with seconds), got ${fields.length}`;
  }
  const result = CronTime.validateCronExpression(expr.trim());
  return result.valid ? undefined : (result.error?.message ?? 'invalid');
}

export function isValidTimeZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The fire times of a cron expression in a zone, strictly after `from` and at or before `until`.
 * (The scheduler's own next-run computation, hardened for DST, arrives with the scheduler module.)
 */
export function fireTimesBetween(expr: string, timeZone: string, from: Date, until: Date, max = 10_000): Date[] {
  const time = new CronTime(expr.trim(), timeZone);
  const out: Date[] = [];
  let cursor = from;
  while (out.length < max) {
    const next = time.getNextDateFrom(cursor, timeZone).toJSDate();
    if (next.getTime() > until.getTime()) break;
    if (next.getTime() <= cursor.getTime()) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

import { utcYearOfSeconds } from './calendar';
import { CronSyntaxError, splitFields } from './fields';
import { describeTrigger } from './format';
import { WallMatcher } from './matcher';
import { isValidTimeZone, LOOKBACK, Segment, ZoneData, zoneData } from './zone';

/**
 * A parsed cron expression bound to a time zone, computed independently of the `cron` package's
 * next-date logic (which mishandles DST transitions).
 *
 * Semantics. A cron expression names local wall-clock times (whole seconds) in `timeZone`:
 * - each matching wall-clock time fires exactly once;
 * - a wall-clock time that happens twice (fall back) fires at its FIRST occurrence only, so e.g. in
 *   Europe/Berlin on 2026-10-25 `30 2 * * *` fires once at 02:30+02:00 (00:30Z), and a per-second
 *   cron is silent during the repeated hour;
 * - a wall-clock time that does not exist (spring-forward gap) fires at the instant given by the
 *   offset in force BEFORE the gap (RFC 5545 / Temporal "compatible"): 02:30 in Europe/Berlin on
 *   2026-03-29 fires at 03:30+02:00 (01:30Z); several gap times that map to one instant (or to an
 *   instant that also fires normally, like 03:30 that day) fire once;
 * - fire instants are whole seconds; `next(after)` is the first one strictly after `after`.
 * Days follow Vixie cron (see WallMatcher).
 *
 * Algorithm: the zone's offset transitions are found per UTC year (Intl probing + bisection, cached
 * per zone), giving segments of constant offset. Within a segment [s, e) with offset o the local time
 * is t + o, so a fast field-by-field search on a naive calendar finds the next matching wall time W
 * and the instant W - o; wall times below the segment's floor (already reached earlier: second
 * occurrences) are skipped, and wall times in a spring-forward gap before the segment are searched
 * separately and mapped with the previous offset. The earliest candidate wins; otherwise the search
 * moves on to the next segment (jumping straight to the one near the next naive match).
 */
export class CronSchedule {
  readonly expression: string;
  readonly timeZone: string;
  readonly hasSeconds: boolean;

  private readonly fields: readonly string[];
  private readonly matcher: WallMatcher;
  private readonly zone: ZoneData;
  private lastSeg: Segment | null = null;

  private constructor(expression: string, timeZone: string, fields: readonly string[], hasSeconds: boolean) {
    this.expression = expression;
    this.timeZone = timeZone;
    this.hasSeconds = hasSeconds;
    this.fields = fields;
    this.matcher = new WallMatcher(fields);
    this.zone = zoneData(timeZone);
  }

  /** Throws CronSyntaxError naming the problem (the field, and why) for an expression or zone it cannot use. */
  static parse(expression: string, timeZone: string): CronSchedule {
    const { expression: trimmed, texts, hasSeconds } = splitFields(expression);
    if (!isValidTimeZone(timeZone)) throw new CronSyntaxError(`unknown time zone "${String(timeZone)}"`);
    return new CronSchedule(trimmed, timeZone, texts, hasSeconds);
  }

  /** The first fire instant strictly after `after`, or null if none within 10 years. */
  next(after: Date): Date | null {
    const ms = after instanceof Date ? after.getTime() : NaN;
    if (!Number.isFinite(ms)) throw new RangeError('next(): invalid date');
    const matcher = this.matcher;
    if (matcher.never) return null;
    let t0 = Math.floor(ms / 1000) + 1;
    const limitDate = new Date(ms);
    limitDate.setUTCFullYear(limitDate.getUTCFullYear() + 10);
    const limit = Math.floor(limitDate.getTime() / 1000);
    const limitYear = utcYearOfSeconds(limit + LOOKBACK);
    const zone = this.zone;
    let seg = this.lastSeg;
    if (!seg || t0 < seg.s || t0 >= seg.e) seg = zone.segmentAt(t0);
    for (;;) {
      let best = Infinity;
      const gapEnd = seg.s + seg.o;
      if (seg.floorW < gapEnd) {
        // Wall times skipped by the transition at seg.s, mapped with the offset before it.
        const lo = Math.max(seg.floorW, t0 + seg.oPrev);
        if (lo < gapEnd) {
          const w = matcher.nextWall(lo, limitYear);
          if (w < gapEnd) best = w - seg.oPrev;
        }
      }
      const w = matcher.nextWall(Math.max(t0 + seg.o, seg.floorW), limitYear);
      if (Number.isNaN(w)) {
        if (best === Infinity) return null;
      } else if (w < seg.e + seg.o) {
        if (w - seg.o < best) best = w - seg.o;
      } else if (best === Infinity) {
        // No wall time matches before w: skip to shortly before w's instant (offsets are < 2 days).
        const jump = w - LOOKBACK;
        if (jump > seg.e) {
          t0 = jump;
          if (t0 > limit) return null;
          seg = zone.segmentAt(t0);
          continue;
        }
      }
      if (best !== Infinity) {
        this.lastSeg = seg;
        return best <= limit ? new Date(best * 1000) : null;
      }
      t0 = seg.e;
      if (t0 > limit) return null;
      seg = zone.nextSegment(seg);
    }
  }

  /** Fire instants in (from, until], ascending, at most `max` (default 10000). */
  between(from: Date, until: Date, max = 10_000): Date[] {
    const out: Date[] = [];
    const end = until.getTime();
    let cursor: Date | null = from;
    while (out.length < max) {
      cursor = this.next(cursor);
      if (!cursor || cursor.getTime() > end) break;
      out.push(cursor);
    }
    return out;
  }

  /** APScheduler-style trigger text, e.g. "cron[hour='9,18', minute='0']". */
  describe(): string {
    return describeTrigger(this.fields, this.hasSeconds);
  }
}

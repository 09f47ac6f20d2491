import { FireCalendar } from '../common/cron/fire-calendar';
import { zoneOffsetMs } from '../common/cron/zone';
import { DAY_MS } from '../cleanup/retention';
import type { NoticeFrequency } from '../records/guardian.entity';
import type { ChildCounts, NoticeGroup } from './notice.entity';

/**
 * The arithmetic of a notice run: who must be told now, and how far each notice reaches.
 *
 * Let D = NOTICE_DAYS_BEFORE and G = NOTICE_DIGEST_DAYS. A record whose deletion is at T must be told by
 * the last notice run at or before T − D. A run at N therefore tells a guardian when some record of theirs
 * not yet told is deleted before next + D (next: the following notice run), which is the last chance; and,
 * since it sends anyway, it tells every deletion before reach + D, where reach is the first notice run at or
 * after N + G ('digest') or `next` ('each_run'). What is left is deleted at reach + D or later, so the next
 * notice is due at reach at the earliest: at most one notice per G days, each one at least D ahead of its
 * first deletion. Only data that arrives late (a backdated import, a shortened retention) makes a notice
 * come sooner, and that one says so.
 *
 * Deletion times come from the cleanup calendar, but nothing here enumerates cleanup runs: a record
 * created at t (retention R) is deleted by the first cleanup at or after t + R, so "deleted before X" is
 * "created at or before lastCleanupBefore(X) − R", one calendar lookup whatever the cadence. Dates are
 * grouped the same way: for each local midnight M in a guardian's zone, lastCleanupBefore(M) − R bounds
 * what is deleted before that date ends.
 */
export interface DigestClock {
  /** When the run starts (what "now" is for lead times). */
  now: Date;
  /** The fire the run stands for (a digest reaches G days past it, so a run that starts late reaches no further). */
  scheduledFor: Date;
  daysBefore: number;
  digestDays: number;
  cleanups: FireCalendar;
  notices: FireCalendar;
}

export class DigestPlan {
  /** The notice run after this one (a day on, if no notice job is scheduled). */
  readonly nextNotice: Date;
  /** Per frequency: this run's notices announce every deletion before this time. */
  readonly reach: Record<NoticeFrequency, Date>;
  /** A guardian is told now if something of theirs not yet told is deleted before this. */
  readonly mustTellBefore: Date;

  constructor(private readonly c: DigestClock) {
    const day = DAY_MS;
    const lead = c.daysBefore * day;
    this.nextNotice = c.notices.next(c.now) ?? new Date(c.now.getTime() + day);
    const digestFrom = new Date(Math.max(c.scheduledFor.getTime() + c.digestDays * day, this.nextNotice.getTime()));
    const digestNext = c.notices.atOrAfter(digestFrom) ?? digestFrom;
    this.mustTellBefore = new Date(this.nextNotice.getTime() + lead);
    this.reach = { each_run: this.mustTellBefore, digest: new Date(digestNext.getTime() + lead) };
  }

  /** The first cleanup run at or after `at`: when a record that expires at `at` goes (now, if it is overdue). */
  deletionOf(expiresAt: Date): Date | undefined {
    return this.c.cleanups.atOrAfter(new Date(Math.max(expiresAt.getTime(), this.c.now.getTime())));
  }

  /** The latest created_at (retention R days) of a record deleted before `before`; undefined: none is. */
  createdBound(before: Date, retentionDays: number): Date | undefined {
    const last = this.c.cleanups.lastBefore(before);
    return last && new Date(last.getTime() - retentionDays * DAY_MS);
  }

  /**
   * The created_at boundaries that split a zone's records (retention R) by local deletion date, up to
   * `until`: records between two of them are deleted on one date in that zone.
   */
  dateBounds(zone: string, retentionDays: number, until: Date): Date[] {
    const bounds: Date[] = [];
    for (let midnight = nextLocalMidnight(this.c.now, zone); midnight <= until; midnight = nextLocalMidnight(midnight, zone)) {
      const last = this.c.cleanups.lastBefore(midnight);
      // A cleanup already past: what it would have deleted is overdue, and goes with the next one, on its date.
      if (!last || last < this.c.now) continue;
      const bound = new Date(last.getTime() - retentionDays * DAY_MS);
      if (bound.getTime() !== bounds[bounds.length - 1]?.getTime()) bounds.push(bound);
    }
    return bounds;
  }

  /** Whether a deletion at `at` is told less than D ahead by this run. */
  isShortNotice(at: Date): boolean {
    return at.getTime() < this.c.now.getTime() + this.c.daysBefore * DAY_MS;
  }
}

/** The calendar date (YYYY-MM-DD) of an instant in an IANA zone. */
export function localDate(at: Date, zone: string): string {
  return new Date(at.getTime() + zoneOffsetMs(at, zone)).toISOString().slice(0, 10);
}

/** The first local midnight strictly after `after` in `zone` (where a DST change skips midnight, the day's first instant). */
export function nextLocalMidnight(after: Date, zone: string): Date {
  const wall = new Date(after.getTime() + zoneOffsetMs(after, zone));
  const nextDayWall = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() + 1);
  const day = new Date(nextDayWall).toISOString().slice(0, 10);
  // The offset at midnight may differ from the offset now (DST): settle it in two steps.
  let at = nextDayWall - zoneOffsetMs(new Date(nextDayWall), zone);
  at = nextDayWall - zoneOffsetMs(new Date(at), zone);
  // Where the clocks jump over midnight, the day begins at the jump (offsets are whole quarter hours).
  const QUARTER = 15 * 60_000;
  while (localDate(new Date(at), zone) < day) at += QUARTER;
  while (localDate(new Date(at - QUARTER), zone) >= day) at -= QUARTER;
  return new Date(at);
}

/**
 * What a notice announces, per child and date. A per-run notice from before digests has no groups: its
 * children all go at its one cleanup run, dated in `zone`.
 */
export function noticeGroups(
  notice: { groups: NoticeGroup[] | null; children: ChildCounts[]; cleanupAt: Date },
  zone: string,
): NoticeGroup[] {
  if (notice.groups && notice.groups.length > 0) return notice.groups;
  const date = localDate(notice.cleanupAt, zone);
  return notice.children.map((c) => ({ ...c, date, deleteAt: notice.cleanupAt.toISOString(), late: false }));
}

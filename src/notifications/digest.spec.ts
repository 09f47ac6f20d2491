import { FireCalendar } from '../common/cron/fire-calendar';
import { CronSchedule } from '../common/cron';
import { DigestPlan, localDate, nextLocalMidnight } from './digest';

const calendar = (cron: string) => new FireCalendar([CronSchedule.parse(cron, 'UTC')]);
const iso = (d: Date | undefined) => d?.toISOString();

describe('DigestPlan', () => {
  const now = new Date('2026-12-01T23:00:00.000Z');
  const plan = (cleanup = '0 0 * * *', digestDays = 7) =>
    new DigestPlan({ now, scheduledFor: now, daysBefore: 2, digestDays, cleanups: calendar(cleanup), notices: calendar('0 23 * * *') });

  it('tells now what the next run could no longer tell 2 days ahead, and reaches a digest period on', () => {
    const p = plan();
    expect(iso(p.nextNotice)).toBe('2026-12-02T23:00:00.000Z');
    expect(iso(p.mustTellBefore)).toBe('2026-12-04T23:00:00.000Z');
    expect(iso(p.reach.digest)).toBe('2026-12-10T23:00:00.000Z');
    expect(iso(p.reach.each_run)).toBe('2026-12-04T23:00:00.000Z');
    // NOTICE_DIGEST_DAYS 1: the digest reaches as far as each run's notice.
    expect(iso(plan('0 0 * * *', 1).reach.digest)).toBe('2026-12-04T23:00:00.000Z');
  });

  it('finds deletion times in the cleanup schedule, overdue records at the next cleanup', () => {
    const p = plan('*/5 * * * * *');
    expect(iso(p.deletionOf(new Date('2026-12-02T20:59:57.000Z')))).toBe('2026-12-02T21:00:00.000Z');
    expect(iso(p.deletionOf(new Date('2026-11-01T00:00:00.000Z')))).toBe('2026-12-01T23:00:00.000Z');
    // Deleted before 4 December 23:00 with 30 days' retention: created at or before 4 November 22:59:55.
    expect(iso(p.createdBound(p.mustTellBefore, 30))).toBe('2026-11-04T22:59:55.000Z');
  });

  it('splits created_at where the local deletion date changes, in the family zone', () => {
    const until = new Date('2026-12-04T23:00:00.000Z');
    // Daily cleanups at midnight UTC: one bound per cleanup still ahead, whatever the zone.
    expect(plan().dateBounds('Asia/Riyadh', 30, until).map(iso)).toEqual([
      '2026-11-02T00:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
      '2026-11-04T00:00:00.000Z',
    ]);
    // Every 5 seconds: the last cleanup before each Riyadh midnight (21:00 UTC).
    expect(plan('*/5 * * * * *').dateBounds('Asia/Riyadh', 30, until).map(iso)).toEqual([
      '2026-11-02T20:59:55.000Z',
      '2026-11-03T20:59:55.000Z',
      '2026-11-04T20:59:55.000Z',
    ]);
  });
});

describe('local dates', () => {
  it('knows the date of an instant in a zone', () => {
    expect(localDate(new Date('2026-12-02T21:00:00.000Z'), 'Asia/Riyadh')).toBe('2026-12-03');
    expect(localDate(new Date('2026-12-02T20:59:59.999Z'), 'Asia/Riyadh')).toBe('2026-12-02');
    expect(localDate(new Date('2026-12-02T04:00:00.000Z'), 'America/New_York')).toBe('2026-12-01');
  });

  it('finds the next local midnight, across DST and where the clocks skip midnight', () => {
    expect(iso(nextLocalMidnight(new Date('2026-12-01T23:00:00.000Z'), 'Asia/Tokyo'))).toBe('2026-12-02T15:00:00.000Z');
    // New York, the night the clocks go back (1 November 2026): midnight is still 04:00 UTC, the next one at 05:00.
    expect(iso(nextLocalMidnight(new Date('2026-10-31T12:00:00.000Z'), 'America/New_York'))).toBe('2026-11-01T04:00:00.000Z');
    expect(iso(nextLocalMidnight(new Date('2026-11-01T04:00:00.000Z'), 'America/New_York'))).toBe('2026-11-02T05:00:00.000Z');
    // Santiago springs forward at midnight (6 September 2026): that day begins at 01:00, 04:00 UTC.
    expect(iso(nextLocalMidnight(new Date('2026-09-05T12:00:00.000Z'), 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
  });
});

import { CronSchedule } from './schedule';
import { FireCalendar } from './fire-calendar';

describe('FireCalendar', () => {
  const from = new Date('2026-12-01T12:00:00Z');
  const until = new Date('2026-12-03T12:00:00Z');

  it('merges the fires of several schedules in order, a shared time once', () => {
    const calendar = new FireCalendar([CronSchedule.parse('0 0 * * *', 'UTC'), CronSchedule.parse('0 0,12 * * *', 'UTC')]);
    expect(calendar.between(from, until).map((d) => d.toISOString())).toEqual([
      '2026-12-02T00:00:00.000Z',
      '2026-12-02T12:00:00.000Z',
      '2026-12-03T00:00:00.000Z',
      '2026-12-03T12:00:00.000Z',
    ]);
    expect(calendar.between(from, until, 2)).toHaveLength(2);
  });

  it('has no next cleanup without schedules (every cleanup job paused)', () => {
    expect(new FireCalendar([]).next(from)).toBeUndefined();
    expect(new FireCalendar([CronSchedule.parse('30 1 * * *', 'Europe/Berlin')]).next(from)?.toISOString()).toBe(
      '2026-12-02T00:30:00.000Z',
    );
  });
});

describe('FireCalendar.lastBefore / atOrAfter', () => {
  const at = new Date('2026-12-02T00:00:00Z');

  it('finds the fire strictly before, for a daily, a weekly and a 5-second schedule', () => {
    const daily = new FireCalendar([CronSchedule.parse('0 0 * * *', 'UTC')]);
    expect(daily.lastBefore(at)?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(daily.lastBefore(new Date(at.getTime() + 1))?.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect(daily.atOrAfter(at)?.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    const weekly = new FireCalendar([CronSchedule.parse('0 0 * * 0', 'UTC')]);
    expect(weekly.lastBefore(at)?.toISOString()).toBe('2026-11-29T00:00:00.000Z');
    const fast = new FireCalendar([CronSchedule.parse('*/5 * * * * *', 'UTC')]);
    expect(fast.lastBefore(at)?.toISOString()).toBe('2026-12-01T23:59:55.000Z');
    expect(fast.atOrAfter(new Date(at.getTime() + 1))?.toISOString()).toBe('2026-12-02T00:00:05.000Z');
  });

  it('has none without schedules', () => {
    expect(new FireCalendar([]).lastBefore(at)).toBeUndefined();
    expect(new FireCalendar([]).empty).toBe(true);
  });
});

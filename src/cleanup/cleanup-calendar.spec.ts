import { CronSchedule } from '../common/cron';
import { CleanupCalendar } from './cleanup-calendar';

describe('CleanupCalendar', () => {
  const from = new Date('2026-12-01T12:00:00Z');
  const until = new Date('2026-12-03T12:00:00Z');

  it('merges the fires of several schedules in order, a shared time once', () => {
    const calendar = new CleanupCalendar([CronSchedule.parse('0 0 * * *', 'UTC'), CronSchedule.parse('0 0,12 * * *', 'UTC')]);
    expect(calendar.between(from, until).map((d) => d.toISOString())).toEqual([
      '2026-12-02T00:00:00.000Z',
      '2026-12-02T12:00:00.000Z',
      '2026-12-03T00:00:00.000Z',
      '2026-12-03T12:00:00.000Z',
    ]);
    expect(calendar.between(from, until, 2)).toHaveLength(2);
  });

  it('has no next cleanup without schedules (every cleanup job paused)', () => {
    expect(new CleanupCalendar([]).next(from)).toBeUndefined();
    expect(new CleanupCalendar([CronSchedule.parse('30 1 * * *', 'Europe/Berlin')]).next(from)?.toISOString()).toBe(
      '2026-12-02T00:30:00.000Z',
    );
  });
});

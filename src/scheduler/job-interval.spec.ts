import { CronSchedule } from '../common/cron';
import { jobIntervalSeconds } from './job-interval';

const interval = (cron: string, zone: string, firstFire: string) => jobIntervalSeconds(CronSchedule.parse(cron, zone), new Date(firstFire));

describe('jobIntervalSeconds', () => {
  it('is a day for a daily cron', () => {
    expect(interval('0 0 * * *', 'UTC', '2026-11-29T00:00:00Z')).toBe(86_400);
  });

  it('is 6 hours for a cron every 6 hours', () => {
    expect(interval('0 */6 * * *', 'UTC', '2026-11-29T06:00:00Z')).toBe(21_600);
  });

  it('is the weekend for a weekday-only cron, whichever day it starts from', () => {
    expect(interval('0 0 * * 1-5', 'UTC', '2026-11-27T00:00:00Z')).toBe(3 * 86_400); // a Friday
    expect(interval('0 0 * * 1-5', 'UTC', '2026-11-30T00:00:00Z')).toBe(3 * 86_400); // a Monday
  });

  it('counts the gap from the first fire itself', () => {
    // The 1st and the 15th: the 17 days from 15 January to 1 February come first, then only 14 or less.
    expect(interval('0 0 1,15 * *', 'UTC', '2026-01-15T00:00:00Z')).toBe(17 * 86_400);
  });

  it('includes the long night of a DST change in the job zone', () => {
    // Berlin leaves summer time on 2026-10-25: that night's midnight-to-midnight is 25 hours.
    expect(interval('0 0 * * *', 'Europe/Berlin', '2026-10-20T22:00:00Z')).toBe(25 * 3600);
    expect(interval('0 0 * * *', 'Europe/Berlin', '2026-11-01T23:00:00Z')).toBe(24 * 3600);
  });

  it('is unknown for a schedule that fires less than twice in two months', () => {
    expect(interval('0 0 29 2 *', 'UTC', '2028-02-29T00:00:00Z')).toBeNull();
  });
});

import { validateSync } from 'class-validator';
import { cronProblem, IsCron } from './cron';
import { IsTimeZone } from './time-zone';

describe('cron helpers', () => {
  it('validates field counts and ranges', () => {
    expect(cronProblem('0 0 * *')).toMatch(/5 fields/);
    expect(cronProblem('0 24 * * *')).toMatch(/out of range/);
    expect(cronProblem('0 0 * * *')).toBeUndefined();
    expect(cronProblem('0 0 0 * * *')).toBeUndefined();
  });

  it('names the problem: the field, its value and the allowed range', () => {
    expect(cronProblem('61 * * * *')).toBe('minute: value 61 is out of range 0-59');
    expect(cronProblem('* * *')).toBe('must have 5 fields, or 6 with seconds first (e.g. "0 0 * * *"), got 3');
    expect(cronProblem(`0 0 * * ${'0,'.repeat(100)}0`)).toBe('must be at most 200 characters long, got 209');
  });
});

describe('IsCron and IsTimeZone', () => {
  class Job {
    @IsCron()
    cron: unknown;

    @IsTimeZone()
    timezone: unknown;
  }
  const messages = (cron: unknown, timezone: unknown): string[] =>
    validateSync(Object.assign(new Job(), { cron, timezone })).flatMap((e) => Object.values(e.constraints ?? {}));

  it('pass a valid expression and zone', () => {
    expect(messages('0 9,18 * * 1-5', 'Europe/Berlin')).toEqual([]);
  });

  it('name the property and the problem', () => {
    expect(messages('0 25 * * *', 'Mars/Base')).toEqual([
      'cron is not a valid cron expression (hour: value 25 is out of range 0-23)',
      'timezone is not a known IANA time zone (e.g. UTC, Europe/Berlin)',
    ]);
    expect(messages(5, 5)).toEqual([
      'cron is not a valid cron expression (not a string)',
      'timezone is not a known IANA time zone (e.g. UTC, Europe/Berlin)',
    ]);
  });
});

import { cronProblem, fireTimesBetween, isValidTimeZone } from './cron';

describe('cron helpers', () => {
  it('validates field counts and ranges', () => {
    expect(cronProblem('0 0 * * *')).toBeUndefined();
    expect(cronProblem('0 0 0 * * *')).toBeUndefined();
    expect(cronProblem('0 0 * *')).toMatch(/5 fields/);
    expect(cronProblem('0 24 * * *')).toMatch(/out of range/);
  });

  it('knows IANA zones', () => {
    expect(isValidTimeZone('Asia/Riyadh')).toBe(true);
    expect(isValidTimeZone('Asia/Nowhere')).toBe(false);
  });

  it('lists fire times after `from`, up to and including `until`', () => {
    const times = fireTimesBetween('0 0 * * *', 'UTC', new Date('2026-11-28T00:00:00Z'), new Date('2026-11-30T00:00:00Z'));
    expect(times.map((d) => d.toISOString())).toEqual(['2026-11-29T00:00:00.000Z', '2026-11-30T00:00:00.000Z']);
  });

  it('reads the expression in the given zone', () => {
    const times = fireTimesBetween('0 0 * * *', 'Europe/Berlin', new Date('2026-03-28T12:00:00Z'), new Date('2026-03-30T12:00:00Z'));
    // Berlin moves to summer time on 2026-03-29: midnight is 23:00Z before, 22:00Z after.
    expect(times.map((d) => d.toISOString())).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
  });
});

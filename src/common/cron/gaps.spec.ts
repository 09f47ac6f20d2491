import { fireTimesBetween, longestGapHours } from '.';

describe('fireTimesBetween', () => {
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

describe('longestGapHours', () => {
  const from = new Date('2026-11-28T00:00:00Z');

  it('is the longest pause between two fires, in hours', () => {
    expect(longestGapHours('0 9,18 * * *', 'UTC', from)).toBe(15);
    expect(longestGapHours('0 9 * * 1', 'UTC', from)).toBe(168);
  });

  it('is Infinity with fewer than two fires in the 62 days looked at', () => {
    expect(longestGapHours('0 0 29 2 *', 'UTC', from)).toBe(Infinity);
  });
});

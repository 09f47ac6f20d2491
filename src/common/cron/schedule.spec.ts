import { CronSchedule, formatInZone } from '.';
import { againstOracle, sec } from './oracle';

/** Compares between() with the oracle; returns the number of fires. */
const expectMatchesOracle = (expr: string, zone: string, fromSec: number, untilSec: number, step = 60): number => {
  const { got, want } = againstOracle(expr, zone, fromSec, untilSec, step);
  expect({ expr, zone, fires: got }).toEqual({ expr, zone, fires: want });
  return want.length;
};

describe('CronSchedule basics', () => {
  it('parses and exposes its fields', () => {
    const s = CronSchedule.parse('  0 0 * * *  ', 'UTC');
    expect(s.expression).toBe('0 0 * * *');
    expect(s.timeZone).toBe('UTC');
    expect(s.hasSeconds).toBe(false);
    expect(CronSchedule.parse('*/15 * * * * *', 'UTC').hasSeconds).toBe(true);
  });

  it('UTC midnight', () => {
    const s = CronSchedule.parse('0 0 * * *', 'UTC');
    const n = s.next(new Date('2026-01-01T12:00:00Z'))!;
    expect(n.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(formatInZone(n, 'UTC')).toBe('2026-01-02T00:00:00+00:00');
    expectMatchesOracle('0 0 * * *', 'UTC', sec('2026-01-01T00:00:00Z'), sec('2026-01-10T00:00:00Z'));
  });

  it('next() is strictly after, and results are whole seconds', () => {
    const s = CronSchedule.parse('0 0 * * *', 'UTC');
    expect(s.next(new Date('2026-01-02T00:00:00Z'))!.toISOString()).toBe('2026-01-03T00:00:00.000Z');
    expect(s.next(new Date('2026-01-01T23:59:59.999Z'))!.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    const ps = CronSchedule.parse('* * * * * *', 'UTC');
    expect(ps.next(new Date('2026-01-01T00:00:00.250Z'))!.toISOString()).toBe('2026-01-01T00:00:01.000Z');
  });

  it('between() is (from, until] and honours max', () => {
    const s = CronSchedule.parse('0 * * * *', 'UTC');
    const from = new Date('2026-01-01T00:00:00Z');
    const r = s.between(from, new Date('2026-01-01T03:00:00Z'));
    expect(r.map((d) => d.toISOString())).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
    expect(s.between(from, new Date('2026-02-01T00:00:00Z'), 5)).toHaveLength(5);
    expect(s.between(from, new Date('2025-01-01T00:00:00Z'))).toEqual([]);
    expect(s.between(from, new Date('2027-01-01T00:00:00Z'))).toHaveLength(8760); // under the default max
  });
});

describe('Europe/Berlin', () => {
  const zone = 'Europe/Berlin';
  const spring = [sec('2026-03-27T00:00:00Z'), sec('2026-03-31T00:00:00Z')] as const;
  const fall = [sec('2026-10-23T00:00:00Z'), sec('2026-10-27T00:00:00Z')] as const;

  it('30 2 * * * on spring-forward day fires at 03:30+02:00 (01:30Z)', () => {
    const got = CronSchedule.parse('30 2 * * *', zone).between(new Date('2026-03-28T12:00:00Z'), new Date('2026-03-30T12:00:00Z'));
    expect(got.map((d) => d.toISOString())).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(got.map((d) => formatInZone(d, zone))).toEqual(['2026-03-29T03:30:00+02:00', '2026-03-30T02:30:00+02:00']);
  });

  it('30 2 * * * on fall-back day fires exactly once, at the first 02:30 (00:30Z)', () => {
    const got = CronSchedule.parse('30 2 * * *', zone).between(new Date('2026-10-24T12:00:00Z'), new Date('2026-10-26T12:00:00Z'));
    expect(got.map((d) => d.toISOString())).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
    expect(got.map((d) => formatInZone(d, zone))).toEqual(['2026-10-25T02:30:00+02:00', '2026-10-26T02:30:00+01:00']);
  });

  it('0 * * * * around both transitions', () => {
    const s = CronSchedule.parse('0 * * * *', zone);
    const fmt = (a: string, b: string): string[] => s.between(new Date(a), new Date(b)).map((d) => formatInZone(d, zone));
    expect(fmt('2026-03-28T23:30:00Z', '2026-03-29T03:30:00Z')).toEqual([
      '2026-03-29T01:00:00+01:00',
      '2026-03-29T03:00:00+02:00', // 02:00 does not exist and maps onto 03:00: one fire
      '2026-03-29T04:00:00+02:00',
      '2026-03-29T05:00:00+02:00',
    ]);
    expect(fmt('2026-10-24T23:30:00Z', '2026-10-25T03:30:00Z')).toEqual([
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T03:00:00+01:00', // the second 02:00 (+01:00) does not fire
      '2026-10-25T04:00:00+01:00',
    ]);
  });

  it('the spring-forward local day has 23 hourly fires and 92 quarter-hourly ones', () => {
    const from = new Date('2026-03-28T22:59:59Z'); // 23:59:59 local on the 28th
    const until = new Date('2026-03-29T21:59:59Z'); // 23:59:59 local on the 29th
    expect(CronSchedule.parse('0 * * * *', zone).between(from, until)).toHaveLength(23);
    expect(CronSchedule.parse('*/15 * * * *', zone).between(from, until)).toHaveLength(92);
  });

  it('0 0 * * * and 0 3 * * * across the transitions', () => {
    const s3 = CronSchedule.parse('0 3 * * *', zone);
    expect(s3.next(new Date('2026-03-28T12:00:00Z'))!.toISOString()).toBe('2026-03-29T01:00:00.000Z');
    expect(s3.next(new Date('2026-10-24T12:00:00Z'))!.toISOString()).toBe('2026-10-25T02:00:00.000Z');
    const s0 = CronSchedule.parse('0 0 * * *', zone);
    expect(s0.next(new Date('2026-03-29T00:00:00Z'))!.toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(s0.next(new Date('2026-10-25T00:00:00Z'))!.toISOString()).toBe('2026-10-25T23:00:00.000Z');
  });

  it.each(['30 2 * * *', '0 * * * *', '*/15 * * * *', '0 0 * * *', '0 3 * * *', '59 1 * * *', '* 2 * * *', '*/7 1-3 * * *'])(
    '%s matches the oracle around both transitions',
    (expr) => {
      expectMatchesOracle(expr, zone, ...spring);
      expectMatchesOracle(expr, zone, ...fall);
    },
  );

  it('a whole year of a few expressions matches the oracle', () => {
    const from = sec('2026-01-01T00:00:00Z');
    const until = sec('2027-01-01T00:00:00Z');
    for (const expr of ['30 2 * * *', '0 0 * * 0', '15 2 25-31 3,10 *']) expectMatchesOracle(expr, zone, from, until);
  });
});

describe('other zones', () => {
  it('America/New_York', () => {
    const zone = 'America/New_York';
    const s = CronSchedule.parse('30 2 * * *', zone);
    const spring = s.next(new Date('2026-03-07T00:00:00Z'))!;
    expect(spring.toISOString()).toBe('2026-03-07T07:30:00.000Z');
    const gap = s.next(spring)!;
    expect(gap.toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(formatInZone(gap, zone)).toBe('2026-03-08T03:30:00-04:00');
    const fall = CronSchedule.parse('30 1 * * *', zone).between(new Date('2026-10-31T12:00:00Z'), new Date('2026-11-02T12:00:00Z'));
    expect(fall.map((d) => formatInZone(d, zone))).toEqual(['2026-11-01T01:30:00-04:00', '2026-11-02T01:30:00-05:00']);
    for (const expr of ['30 2 * * *', '30 1 * * *', '0 * * * *', '*/15 * * * *', '0 0 * * *', '0 3 * * *']) {
      expectMatchesOracle(expr, zone, sec('2026-03-06T00:00:00Z'), sec('2026-03-10T00:00:00Z'));
      expectMatchesOracle(expr, zone, sec('2026-10-30T00:00:00Z'), sec('2026-11-03T00:00:00Z'));
    }
  });

  it('Australia/Lord_Howe (30-minute DST)', () => {
    const zone = 'Australia/Lord_Howe';
    // Fall back 2026-04-05 02:00+11:00 -> 01:30+10:30: 01:45 happens twice and fires once.
    const fall = CronSchedule.parse('45 1 * * *', zone).between(new Date('2026-04-04T00:00:00Z'), new Date('2026-04-05T12:00:00Z'));
    expect(fall.map((d) => formatInZone(d, zone))).toEqual(['2026-04-05T01:45:00+11:00']);
    // Spring forward 2026-10-04 02:00+10:30 -> 02:30+11:00: 02:15 does not exist.
    const spring = CronSchedule.parse('15 2 * * *', zone).next(new Date('2026-10-03T12:00:00Z'))!;
    expect(spring.toISOString()).toBe('2026-10-03T15:45:00.000Z');
    expect(formatInZone(spring, zone)).toBe('2026-10-04T02:45:00+11:00');
    for (const expr of ['15 2 * * *', '45 1 * * *', '0 * * * *', '*/15 * * * *', '0 2 * * *', '30 2 * * *']) {
      expectMatchesOracle(expr, zone, sec('2026-04-03T00:00:00Z'), sec('2026-04-07T00:00:00Z'));
      expectMatchesOracle(expr, zone, sec('2026-10-02T00:00:00Z'), sec('2026-10-06T00:00:00Z'));
    }
  });

  it('America/Santiago (DST change at midnight)', () => {
    const zone = 'America/Santiago';
    const s = CronSchedule.parse('0 0 * * *', zone);
    // 2026-09-06 00:00 does not exist (00:00-04:00 -> 01:00-03:00): midnight fires at 01:00 local.
    const spring = s.between(new Date('2026-09-05T12:00:00Z'), new Date('2026-09-07T12:00:00Z'));
    expect(spring.map((d) => formatInZone(d, zone))).toEqual(['2026-09-06T01:00:00-03:00', '2026-09-07T00:00:00-03:00']);
    // 2026-04-05 00:00-03:00 -> 2026-04-04 23:00-04:00: 23:30 on the 4th happens twice, midnight once.
    const fall = s.between(new Date('2026-04-03T12:00:00Z'), new Date('2026-04-06T12:00:00Z'));
    expect(fall.map((d) => formatInZone(d, zone))).toEqual([
      '2026-04-04T00:00:00-03:00',
      '2026-04-05T00:00:00-04:00',
      '2026-04-06T00:00:00-04:00',
    ]);
    const late = CronSchedule.parse('30 23 * * *', zone).between(new Date('2026-04-04T12:00:00Z'), new Date('2026-04-05T12:00:00Z'));
    expect(late.map((d) => formatInZone(d, zone))).toEqual(['2026-04-04T23:30:00-03:00']);
    for (const expr of ['0 0 * * *', '30 23 * * *', '30 0 * * *', '0 * * * *', '*/15 * * * *', '0 1 * * *']) {
      expectMatchesOracle(expr, zone, sec('2026-04-03T00:00:00Z'), sec('2026-04-07T00:00:00Z'));
      expectMatchesOracle(expr, zone, sec('2026-09-04T00:00:00Z'), sec('2026-09-08T00:00:00Z'));
    }
  });
});

describe('6-field (per-second) schedules across DST', () => {
  it('* * * * * * in Europe/Berlin', () => {
    const zone = 'Europe/Berlin';
    const s = CronSchedule.parse('* * * * * *', zone);
    // Spring forward: no interruption in UTC, the gap maps onto existing instants.
    expect(s.between(new Date('2026-03-29T00:59:50Z'), new Date('2026-03-29T01:00:10Z'))).toHaveLength(20);
    // Fall back: the repeated hour is silent.
    const fall = s.between(new Date('2026-10-25T00:59:55Z'), new Date('2026-10-25T02:00:02Z'));
    expect(fall.map((d) => formatInZone(d, zone))).toEqual([
      '2026-10-25T02:59:56+02:00',
      '2026-10-25T02:59:57+02:00',
      '2026-10-25T02:59:58+02:00',
      '2026-10-25T02:59:59+02:00',
      '2026-10-25T03:00:00+01:00',
      '2026-10-25T03:00:01+01:00',
      '2026-10-25T03:00:02+01:00',
    ]);
  });

  it.each([
    ['*/20 * 1-3 * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z'],
    ['*/20 * 1-3 * * *', 'Europe/Berlin', '2026-10-25T00:00:00Z'],
    ['5,35 */10 * * * *', 'America/New_York', '2026-11-01T05:00:00Z'],
    ['*/15 * * * * *', 'Australia/Lord_Howe', '2026-10-03T15:00:00Z'],
    ['0-10 0 0 * * *', 'America/Santiago', '2026-09-06T03:30:00Z'],
  ])('%s in %s matches the per-second oracle', (expr, zone, start) => {
    expectMatchesOracle(expr, zone, sec(start), sec(start) + 3 * 3600, 1);
  });
});

describe('calendar rules', () => {
  it('0 0 29 2 * fires on leap days only (2100 is not one)', () => {
    const s = CronSchedule.parse('0 0 29 2 *', 'UTC');
    const got = s.between(new Date('2026-01-01T00:00:00Z'), new Date('2037-01-01T00:00:00Z'));
    expect(got.map((d) => d.toISOString().slice(0, 10))).toEqual(['2028-02-29', '2032-02-29', '2036-02-29']);
    expect(s.next(new Date('2097-03-01T00:00:00Z'))!.toISOString()).toBe('2104-02-29T00:00:00.000Z');
  });

  it('returns null when nothing fires within 10 years', () => {
    expect(CronSchedule.parse('0 0 30 2 *', 'UTC').next(new Date('2026-01-01T00:00:00Z'))).toBeNull();
    expect(CronSchedule.parse('0 0 31 4,6,9,11 *', 'Europe/Berlin').next(new Date('2026-01-01T00:00:00Z'))).toBeNull();
    // Feb 29 on a Sunday (`*/7` = Sunday, a star field, so AND): 2032, then 2060.
    const s = CronSchedule.parse('0 0 29 2 */7', 'UTC');
    expect(s.next(new Date('2026-01-01T00:00:00Z'))!.toISOString()).toBe('2032-02-29T00:00:00.000Z');
    expect(s.next(new Date('2032-03-01T00:00:00Z'))).toBeNull();
  });

  it('day of month OR day of week when both are restricted (0 0 13 * 5)', () => {
    const got = CronSchedule.parse('0 0 13 * 5', 'UTC').between(new Date('2026-01-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'));
    expect(got.map((d) => d.toISOString().slice(0, 10))).toEqual([
      '2026-01-02',
      '2026-01-09',
      '2026-01-13',
      '2026-01-16',
      '2026-01-23',
      '2026-01-30',
      '2026-02-06',
      '2026-02-13',
      '2026-02-20',
      '2026-02-27',
    ]);
    expectMatchesOracle('0 0 13 * 5', 'Europe/Berlin', sec('2026-02-01T00:00:00Z'), sec('2026-04-01T00:00:00Z'));
  });

  it('day of month AND day of week when one of them starts with *', () => {
    const got = CronSchedule.parse('0 0 */2 * 5', 'UTC').between(new Date('2026-01-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'));
    expect(got.map((d) => d.toISOString().slice(0, 10))).toEqual(['2026-01-09', '2026-01-23', '2026-02-13', '2026-02-27']);
    expectMatchesOracle('0 0 1-7 * */7', 'UTC', sec('2026-01-01T00:00:00Z'), sec('2026-03-01T00:00:00Z'));
    expectMatchesOracle('0 0 */2 * 5', 'UTC', sec('2026-01-01T00:00:00Z'), sec('2026-03-01T00:00:00Z'));
    expectMatchesOracle('0 0 * * 1-5', 'UTC', sec('2026-01-01T00:00:00Z'), sec('2026-03-01T00:00:00Z'));
  });

  it('month and weekday names, any case', () => {
    const a = CronSchedule.parse('0 9 * JAN-MAR MON-FRI', 'Europe/Berlin');
    const b = CronSchedule.parse('0 9 * 1-3 1-5', 'Europe/Berlin');
    const c = CronSchedule.parse('0 9 * jan-Mar mon-fri', 'Europe/Berlin');
    const from = new Date('2025-12-20T00:00:00Z');
    const until = new Date('2026-04-10T00:00:00Z');
    const ra = a.between(from, until).map((d) => d.toISOString());
    expect(ra).toHaveLength(64); // 22 + 20 + 22 weekdays
    expect(b.between(from, until).map((d) => d.toISOString())).toEqual(ra);
    expect(c.between(from, until).map((d) => d.toISOString())).toEqual(ra);
    expectMatchesOracle('0 9 * JAN-MAR MON-FRI', 'Europe/Berlin', sec('2025-12-20T00:00:00Z'), sec('2026-04-10T00:00:00Z'));
  });

  it('7 is Sunday', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    const until = new Date('2026-02-28T12:00:00Z');
    const sundays = CronSchedule.parse('0 0 * * 0', 'UTC')
      .between(from, until)
      .map((d) => d.toISOString());
    expect(sundays).toHaveLength(8);
    expect(new Date(sundays[0]).getUTCDay()).toBe(0);
    expect(
      CronSchedule.parse('0 0 * * 7', 'UTC')
        .between(from, until)
        .map((d) => d.toISOString()),
    ).toEqual(sundays);
    expect(
      CronSchedule.parse('0 0 * * SUN', 'UTC')
        .between(from, until)
        .map((d) => d.toISOString()),
    ).toEqual(sundays);
    expect(CronSchedule.parse('0 0 * * 6-7', 'UTC').between(from, until)).toHaveLength(17); // 9 Saturdays, 8 Sundays
  });

  it('steps: */n, a-b/n and a/n', () => {
    const minutes = (expr: string): number[] =>
      CronSchedule.parse(expr, 'UTC')
        .between(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:59:59Z'))
        .map((d) => d.getUTCMinutes());
    expect(minutes('*/20 0 * * *')).toEqual([20, 40]); // 00:00 itself is not after `from`
    expect(minutes('10-30/10 0 * * *')).toEqual([10, 20, 30]);
    expect(minutes('45/5 0 * * *')).toEqual([45, 50, 55]);
    expect(minutes('1,2,50-52 0 * * *')).toEqual([1, 2, 50, 51, 52]);
  });
});

describe('performance sanity', () => {
  it('10,000 next() calls on * * * * * * complete', () => {
    const s = CronSchedule.parse('* * * * * *', 'Europe/Berlin');
    let d = new Date('2026-03-29T00:00:00Z');
    for (let i = 0; i < 10_000; i++) d = s.next(d)!;
    expect(d.toISOString()).toBe('2026-03-29T02:46:40.000Z');
  });
});

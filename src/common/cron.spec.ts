import { CronTime } from 'cron';
import { CronSchedule, CronSyntaxError, formatInZone, isValidTimeZone, zoneOffsetMs } from './cron';

// ---------------------------------------------------------------------------------------------
// Brute-force oracle, independent of the implementation: its own field parser, local wall-clock
// fields from Intl.DateTimeFormat#formatToParts, and a walk over every minute (or second) of UTC.
// Rules: a wall time fires at its first occurrence; wall times skipped by a jump forward fire at
// the wall time minus the offset in force before the jump; duplicates collapse.
// ---------------------------------------------------------------------------------------------

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  wd: number;
}
interface Sample {
  t: number; // UTC seconds
  wall: number; // local wall clock as naive seconds
  f: Wall;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const oracleFormats = new Map<string, Intl.DateTimeFormat>();

function localWall(tSec: number, zone: string): Wall {
  let fmt = oracleFormats.get(zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    oracleFormats.set(zone, fmt);
  }
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(new Date(tSec * 1000))) p[part.type] = part.value;
  return { y: +p.year, mo: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute, s: +p.second, wd: WEEKDAYS[p.weekday] };
}

const wallSeconds = (f: Wall): number => Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s) / 1000;

function nakedWall(w: number): Wall {
  const d = new Date(w * 1000);
  return {
    y: d.getUTCFullYear(),
    mo: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    h: d.getUTCHours(),
    mi: d.getUTCMinutes(),
    s: d.getUTCSeconds(),
    wd: d.getUTCDay(),
  };
}

function oracleMatcher(expr: string): (f: Wall) => boolean {
  let fields = expr.trim().split(/\s+/);
  if (fields.length === 5) fields = ['0', ...fields];
  const names: Record<string, number> = {
    jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
    sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6,
  };
  const tok = (x: string): number => (/^\d+$/.test(x) ? parseInt(x, 10) : names[x.toLowerCase()]);
  const set = (text: string, lo: number, hi: number): Set<number> => {
    const out = new Set<number>();
    for (const part of text.split(',')) {
      const [range, st] = part.split('/');
      const step = st ? parseInt(st, 10) : 1;
      let a: number;
      let b: number;
      if (range === '*') [a, b] = [lo, hi];
      else if (range.includes('-')) [a, b] = range.split('-').map(tok);
      else [a, b] = [tok(range), st ? hi : tok(range)];
      for (let v = a; v <= b; v += step) out.add(v);
    }
    return out;
  };
  const sec = set(fields[0], 0, 59);
  const min = set(fields[1], 0, 59);
  const hour = set(fields[2], 0, 23);
  const dom = set(fields[3], 1, 31);
  const mon = set(fields[4], 1, 12);
  const dow = set(fields[5], 0, 7);
  if (dow.has(7)) dow.add(0);
  // Vixie: a field is unrestricted when it starts with '*'; two restricted day fields are OR-ed.
  const either = !fields[3].startsWith('*') && !fields[5].startsWith('*');
  return (f) =>
    sec.has(f.s) &&
    min.has(f.mi) &&
    hour.has(f.h) &&
    mon.has(f.mo) &&
    (either ? dom.has(f.d) || dow.has(f.wd) : dom.has(f.d) && dow.has(f.wd));
}

const sampleCache = new Map<string, Sample[]>();
/** Every `step` seconds of UTC from `head` seconds before fromSec up to untilSec. */
function samples(zone: string, fromSec: number, untilSec: number, step: number, head: number): Sample[] {
  const key = `${zone}|${fromSec}|${untilSec}|${step}|${head}`;
  let out = sampleCache.get(key);
  if (!out) {
    out = [];
    for (let t = Math.ceil((fromSec - head) / step) * step; t <= untilSec; t += step) {
      const f = localWall(t, zone);
      out.push({ t, wall: wallSeconds(f), f });
    }
    sampleCache.set(key, out);
  }
  return out;
}

/** Fire instants (UTC seconds) in (fromSec, untilSec]. Use step 60 only for expressions firing at second 0. */
function oracle(expr: string, zone: string, fromSec: number, untilSec: number, step = 60): number[] {
  const match = oracleMatcher(expr);
  const fires = new Set<number>();
  let maxSeen = -Infinity;
  let prev: Sample | undefined;
  for (const cur of samples(zone, fromSec, untilSec, step, step === 60 ? 6 * 3600 : 3 * 3600)) {
    if (prev && cur.wall > maxSeen + step) {
      // Local time jumped forward: the skipped wall times fire with the offset before the jump.
      const offsetBefore = prev.wall - prev.t;
      for (let w = maxSeen + step; w < cur.wall; w += step) if (match(nakedWall(w))) fires.add(w - offsetBefore);
    }
    if (cur.wall > maxSeen) {
      if (match(cur.f)) fires.add(cur.t);
      maxSeen = cur.wall;
    }
    prev = cur;
  }
  return [...fires].filter((t) => t > fromSec && t <= untilSec).sort((a, b) => a - b);
}

const iso = (tSec: number): string => new Date(tSec * 1000).toISOString().replace('.000', '');
const sec = (s: string): number => Date.parse(s) / 1000;

function actual(expr: string, zone: string, fromSec: number, untilSec: number): number[] {
  return CronSchedule.parse(expr, zone)
    .between(new Date(fromSec * 1000), new Date(untilSec * 1000))
    .map((d) => d.getTime() / 1000);
}

/** Compares between() with the oracle; returns the number of fires. */
function expectMatchesOracle(expr: string, zone: string, fromSec: number, untilSec: number, step = 60): number {
  const got = actual(expr, zone, fromSec, untilSec).map(iso);
  const want = oracle(expr, zone, fromSec, untilSec, step).map(iso);
  expect({ expr, zone, fires: got }).toEqual({ expr, zone, fires: want });
  return want.length;
}

/** Offset transitions of a zone in [fromSec, untilSec), found by Intl alone (hourly scan, then by minute). */
function transitions(zone: string, fromSec: number, untilSec: number): number[] {
  const off = (t: number): number => wallSeconds(localWall(t, zone)) - t;
  const out: number[] = [];
  for (let t = fromSec; t < untilSec; t += 3600) {
    if (off(t) !== off(t + 3600)) {
      let m = t;
      while (off(m) === off(t)) m += 60;
      out.push(m);
    }
  }
  return out;
}

/** mulberry32: small seeded PRNG, so the randomized cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------

describe('2026 transitions used below (checked via Intl, not hard-coded blindly)', () => {
  it.each([
    ['Europe/Berlin', ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z']],
    ['America/New_York', ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z']],
    ['Australia/Lord_Howe', ['2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z']],
    ['America/Santiago', ['2026-04-05T03:00:00Z', '2026-09-06T04:00:00Z']],
    ['UTC', []],
    ['Asia/Kolkata', []],
  ])('%s', (zone, expected) => {
    expect(transitions(zone, sec('2026-01-01T00:00:00Z'), sec('2027-01-01T00:00:00Z')).map(iso)).toEqual(expected);
  });
});

describe('formatInZone / zoneOffsetMs / isValidTimeZone', () => {
  it('formats UTC with +00:00 and drops milliseconds', () => {
    expect(formatInZone(new Date('2026-01-02T00:00:00.999Z'), 'UTC')).toBe('2026-01-02T00:00:00+00:00');
  });
  it('uses the offset in force at that instant', () => {
    expect(formatInZone(new Date('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe('2026-03-29T01:59:59+01:00');
    expect(formatInZone(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:00:00+02:00');
    expect(formatInZone(new Date('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+02:00');
    expect(formatInZone(new Date('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+01:00');
    expect(formatInZone(new Date('2026-01-01T04:59:00Z'), 'America/New_York')).toBe('2025-12-31T23:59:00-05:00');
    expect(formatInZone(new Date('2026-06-01T00:00:00Z'), 'Asia/Kolkata')).toBe('2026-06-01T05:30:00+05:30');
    expect(formatInZone(new Date('2026-10-03T15:30:00Z'), 'Australia/Lord_Howe')).toBe('2026-10-04T02:30:00+11:00');
  });
  it('zoneOffsetMs', () => {
    expect(zoneOffsetMs(new Date('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(zoneOffsetMs(new Date('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(zoneOffsetMs(new Date('2026-07-01T00:00:00Z'), 'America/New_York')).toBe(-4 * 3_600_000);
    expect(zoneOffsetMs(new Date('2026-07-01T00:00:00Z'), 'Australia/Lord_Howe')).toBe(10.5 * 3_600_000);
    expect(zoneOffsetMs(new Date('2026-07-01T00:00:00Z'), 'UTC')).toBe(0);
  });
  it('isValidTimeZone', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
});

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
    expect(r.map((d) => d.toISOString())).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
      '2026-01-01T03:00:00.000Z',
    ]);
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
    expect(spring.map((d) => formatInZone(d, zone))).toEqual([
      '2026-09-06T01:00:00-03:00',
      '2026-09-07T00:00:00-03:00',
    ]);
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
      '2026-01-02', '2026-01-09', '2026-01-13', '2026-01-16', '2026-01-23', '2026-01-30',
      '2026-02-06', '2026-02-13', '2026-02-20', '2026-02-27',
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
    const sundays = CronSchedule.parse('0 0 * * 0', 'UTC').between(from, until).map((d) => d.toISOString());
    expect(sundays).toHaveLength(8);
    expect(new Date(sundays[0]).getUTCDay()).toBe(0);
    expect(CronSchedule.parse('0 0 * * 7', 'UTC').between(from, until).map((d) => d.toISOString())).toEqual(sundays);
    expect(CronSchedule.parse('0 0 * * SUN', 'UTC').between(from, until).map((d) => d.toISOString())).toEqual(sundays);
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

describe('syntax', () => {
  it.each([
    ['0 25 * * *', /^hour: value 25 is out of range 0-23$/],
    ['60 * * * *', /^minute: value 60 is out of range 0-59$/],
    ['61 0 0 * * *', /^second: value 61 is out of range 0-59$/],
    ['0 0 32 * *', /^day of month: value 32 is out of range 1-31$/],
    ['0 0 0 * *', /^day of month: value 0 is out of range 1-31$/],
    ['0 0 * 13 *', /^month: value 13 is out of range 1-12$/],
    ['0 0 * * 8', /^day of week: value 8 is out of range 0-7$/],
    ['* * * *', /expected 5 fields .* got 4/],
    ['* * * * * * *', /expected 5 fields .* got 7/],
    ['', /got 0/],
    ['@daily', /nicknames like "@daily" are not supported/],
    ['0 0 ? * *', /^day of month: "\?" is not supported/],
    ['0 0 * * ?', /^day of week: "\?" is not supported/],
    ['*/0 * * * *', /^minute: step 0 is not allowed$/],
    ['0 5-1 * * *', /^hour: range 5-1 is reversed/],
    ['0 0 * * FRI-MON', /^day of week: range FRI-MON is reversed/],
    ['0 0 * * MON#2', /^day of week: .*"#"/],
    ['0 0 L * *', /^day of month: "L" is not supported/],
    ['0 0 * * JAN', /^day of week: "JAN" is a month name/],
    ['0 0 * MON *', /^month: "MON" is a weekday name/],
    ['0 JAN * * *', /^hour: "JAN" is a month name/],
    ['0 0 * jan1 *', /^month: invalid value "jan1"/],
    ['0 0 * * MONDAY', /^day of week: unknown name "MONDAY"/],
    ['1,,2 * * * *', /^minute: empty list item/],
    ['1- * * * *', /^minute: cannot parse "1-"/],
    ['*/x * * * *', /^minute: step "x" is not a number/],
    ['*/mon * * * *', /^minute: step "mon" is not a number/],
    ['1.5 * * * *', /^minute: cannot parse "1.5"/],
    ['*-5 * * * *', /^minute: cannot parse "\*-5"/],
  ])('%j is rejected: %s', (expr, message) => {
    let error: unknown;
    try {
      CronSchedule.parse(expr, 'UTC');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CronSyntaxError);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects an unknown time zone', () => {
    expect(() => CronSchedule.parse('0 0 * * *', 'Mars/Olympus_Mons')).toThrow(CronSyntaxError);
    expect(() => CronSchedule.parse('0 0 * * *', 'Mars/Olympus_Mons')).toThrow('unknown time zone "Mars/Olympus_Mons"');
  });

  it('accepts what the cron package accepts in the supported syntax', () => {
    for (const expr of ['0 0 * * *', '*/5 1-5/2 1,15 jan,JUL sun-sat', '5/15 * * * * *', '0 0 1 * 7', '00 05 * * *', '0 0 * * 0,7', '*,1 * * * *']) {
      expect(() => CronSchedule.parse(expr, 'UTC')).not.toThrow();
      expect(CronTime.validateCronExpression(expr).valid).toBe(true);
    }
  });

  it('documents what the cron package accepts that we reject', () => {
    // Exotic forms the cron package turns into something surprising (names are replaced by numbers
    // anywhere in the string), plus nicknames. We reject all of them with a message.
    for (const expr of ['@daily', '@weekdays', '0 0 * * jan', '0 0 * mon *', '0 jan * * *', '0 0 * jan1 *', '0 0 * * sun0', '*/mon * * * *']) {
      expect(CronTime.validateCronExpression(expr).valid).toBe(true);
      expect(() => CronSchedule.parse(expr, 'UTC')).toThrow(CronSyntaxError);
    }
  });

  it('never accepts what the cron package rejects (fuzz: mutated expressions)', () => {
    const rng = prng(7);
    const alphabet = '*?/-,0123456789 LW#jJmMsSxX';
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let expr = randomExpression(rng, rng() < 0.3);
      for (let k = 1 + Math.floor(rng() * 2); k > 0; k--) {
        const at = Math.floor(rng() * (expr.length + 1));
        const ch = alphabet[Math.floor(rng() * alphabet.length)];
        const op = rng();
        if (op < 0.4) expr = expr.slice(0, at) + ch + expr.slice(at + 1);
        else if (op < 0.7) expr = expr.slice(0, at) + ch + expr.slice(at);
        else expr = expr.slice(0, at) + expr.slice(at + 1);
      }
      let ours = true;
      try {
        CronSchedule.parse(expr, 'UTC');
      } catch (e) {
        expect(e).toBeInstanceOf(CronSyntaxError);
        ours = false;
      }
      if (ours) {
        accepted++;
        expect({ expr, valid: CronTime.validateCronExpression(expr).valid }).toEqual({ expr, valid: true });
      } else {
        rejected++;
      }
    }
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(300);
  });
});

describe('describe()', () => {
  it.each([
    ['0 0 * * *', "cron[hour='0', minute='0']"],
    ['0 9,18 * * *', "cron[hour='9,18', minute='0']"],
    ['*/15 * * * * *', "cron[second='*/15']"],
    ['0 9 * JAN-MAR MON-FRI', "cron[month='JAN-MAR', day_of_week='MON-FRI', hour='9', minute='0']"],
    ['0 0 0 1 1 *', "cron[month='1', day='1', hour='0', minute='0']"],
    ['* * * * *', "cron[minute='*']"],
    ['* * * * * *', "cron[second='*']"],
    ['30 15 10 13 * 5', "cron[day='13', day_of_week='5', hour='10', minute='15', second='30']"],
  ])('%s -> %s', (expr, text) => {
    expect(CronSchedule.parse(expr, 'UTC').describe()).toBe(text);
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

// ---------------------------------------------------------------------------------------------
// Randomized cross-check against the oracle
// ---------------------------------------------------------------------------------------------

function randomField(rng: () => number, lo: number, hi: number, opts: { star: number; names?: string[]; seven?: boolean }): string {
  const int = (a: number, b: number): number => a + Math.floor(rng() * (b - a + 1));
  const value = (): string => {
    const v = int(lo, hi);
    if (opts.names && rng() < 0.3) {
      const name = opts.names[v - lo];
      return rng() < 0.5 ? name.toUpperCase() : name;
    }
    if (opts.seven && v === 0 && rng() < 0.5) return '7';
    return String(v);
  };
  const range = (): string => {
    const a = int(lo, hi);
    const b = int(a, hi);
    const name = (v: number): string => (opts.names && rng() < 0.3 ? opts.names[v - lo] : String(v));
    return `${name(a)}-${name(b)}`;
  };
  const r = rng();
  if (r < opts.star) return '*';
  const kind = Math.floor(rng() * 7);
  const span = hi - lo + 1;
  switch (kind) {
    case 0:
      return value();
    case 1:
      return [value(), value(), value()].slice(0, int(2, 3)).join(',');
    case 2:
      return range();
    case 3:
      return `*/${int(1, Math.max(2, Math.floor(span / 2)))}`;
    case 4:
      return `${range()}/${int(1, 5)}`;
    case 5:
      return `${int(lo, hi)}/${int(1, Math.max(2, Math.floor(span / 3)))}`;
    default:
      return `${value()},${range()}`;
  }
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** `dense` makes day, month and hour mostly `*`, so that short windows see fires. */
function randomExpression(rng: () => number, withSeconds: boolean, dense = false): string {
  const fields = [
    randomField(rng, 0, 59, { star: 0.25 }),
    randomField(rng, 0, 23, { star: dense ? 0.6 : 0.35 }),
    randomField(rng, 1, 31, { star: dense ? 0.85 : 0.6 }),
    randomField(rng, 1, 12, { star: dense ? 0.9 : 0.7, names: MONTHS }),
    randomField(rng, 0, 6, { star: dense ? 0.85 : 0.6, names: DAYS, seven: true }),
  ];
  if (withSeconds) fields.unshift(randomField(rng, 0, 59, { star: 0.3 }));
  return fields.join(' ');
}

const RANDOM_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago'];

/** Windows around each 2026 transition of the zone (or two plain windows where there is none). */
function windowsFor(zone: string, halfWidth: number): [number, number][] {
  const ts = transitions(zone, sec('2026-01-01T00:00:00Z'), sec('2027-01-01T00:00:00Z'));
  const centers = ts.length ? ts : [sec('2026-03-29T01:00:00Z'), sec('2026-12-31T23:00:00Z')];
  return centers.map((c) => [c - halfWidth, c + halfWidth]);
}

describe('randomized cross-check against the oracle', () => {
  const rng = prng(20260329);
  const minuteExprs = Array.from({ length: 200 }, () => randomExpression(rng, false));
  const secondExprs = Array.from({ length: 40 }, () => randomExpression(rng, true, true));

  it('generated expressions are valid for the cron package too', () => {
    for (const expr of [...minuteExprs, ...secondExprs]) {
      expect({ expr, valid: CronTime.validateCronExpression(expr).valid }).toEqual({ expr, valid: true });
    }
  });

  it.each(RANDOM_ZONES)('200 five-field expressions, minute by minute, in %s', (zone) => {
    let cases = 0;
    let nonEmpty = 0;
    for (const [from, until] of windowsFor(zone, 36 * 3600)) {
      for (const expr of minuteExprs) {
        cases++;
        if (expectMatchesOracle(expr, zone, from, until) > 0) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(cases / 4); // the comparison is not vacuous
  });

  it.each(RANDOM_ZONES)('40 six-field expressions, second by second, in %s', (zone) => {
    let cases = 0;
    let nonEmpty = 0;
    for (const [from, until] of windowsFor(zone, 3600)) {
      for (const expr of secondExprs) {
        cases++;
        if (expectMatchesOracle(expr, zone, from, until, 1) > 0) nonEmpty++;
      }
    }
    expect(nonEmpty).toBeGreaterThan(cases / 3); // the comparison is not vacuous
  });
});

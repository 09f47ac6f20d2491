import { CronSchedule } from './schedule';

// ---------------------------------------------------------------------------------------------
// Test support for the specs beside this file; the service never imports it.
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
  // Written apart from the parser's own tables, so that a wrong name there cannot hide here too.
  const names: Record<string, number> = Object.fromEntries([
    ...'jan feb mar apr may jun jul aug sep oct nov dec'.split(' ').map((n, i) => [n, i + 1]),
    ...'sun mon tue wed thu fri sat'.split(' ').map((n, i) => [n, i]),
  ]);
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

export const iso = (tSec: number): string => new Date(tSec * 1000).toISOString().replace('.000', '');
export const sec = (s: string): number => Date.parse(s) / 1000;

function actual(expr: string, zone: string, fromSec: number, untilSec: number): number[] {
  return CronSchedule.parse(expr, zone)
    .between(new Date(fromSec * 1000), new Date(untilSec * 1000))
    .map((d) => d.getTime() / 1000);
}

/** between() and the oracle, side by side, as ISO strings. */
export function againstOracle(expr: string, zone: string, fromSec: number, untilSec: number, step = 60): { got: string[]; want: string[] } {
  return { got: actual(expr, zone, fromSec, untilSec).map(iso), want: oracle(expr, zone, fromSec, untilSec, step).map(iso) };
}

/** Offset transitions of a zone in [fromSec, untilSec), found by Intl alone (hourly scan, then by minute). */
export function transitions(zone: string, fromSec: number, untilSec: number): number[] {
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
export function prng(seed: number): () => number {
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
// The grammar, written independently of the parser: per field, one regular expression and range checks
// ---------------------------------------------------------------------------------------------

const MONTH_LIST = 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec';
const DAY_LIST = 'sun|mon|tue|wed|thu|fri|sat';
export const GRAMMAR_FIELDS = [
  { label: 'second', lo: 0, hi: 59, names: '' },
  { label: 'minute', lo: 0, hi: 59, names: '' },
  { label: 'hour', lo: 0, hi: 23, names: '' },
  { label: 'day of month', lo: 1, hi: 31, names: '' },
  { label: 'month', lo: 1, hi: 12, names: MONTH_LIST },
  { label: 'day of week', lo: 0, hi: 7, names: DAY_LIST },
] as const;

function itemInGrammar(item: string, field: (typeof GRAMMAR_FIELDS)[number]): boolean {
  const value = field.names ? `(\\d+|${field.names})` : '(\\d+)';
  const m = new RegExp(`^(?:\\*|${value}(?:-${value})?)(?:/(\\d+))?$`, 'i').exec(item);
  if (!m || (m[3] !== undefined && Number(m[3]) === 0)) return false;
  if (m[1] === undefined) return true; // * or */n
  const names = field.names.split('|');
  const num = (v: string): number => (/^\d+$/.test(v) ? Number(v) : names.indexOf(v.toLowerCase()) + (field.label === 'month' ? 1 : 0));
  const a = num(m[1]);
  const b = m[2] === undefined ? a : num(m[2]);
  return field.lo <= a && a <= b && b <= field.hi;
}

/** True when `expr` is in the documented grammar: 5 fields, or 6 with seconds first; lists of *, a, a-b, each with an optional /n. */
export function inGrammar(expr: string): boolean {
  const parts = expr.trim() === '' ? [] : expr.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return false;
  const fields = parts.length === 5 ? ['0', ...parts] : parts;
  return fields.every((text, i) => text.split(',').every((item) => itemInGrammar(item, GRAMMAR_FIELDS[i])));
}

// ---------------------------------------------------------------------------------------------
// Random expressions in the supported syntax, from a seeded generator
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
export function randomExpression(rng: () => number, withSeconds: boolean, dense = false): string {
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

export const RANDOM_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago'];

/** Windows around each 2026 transition of the zone (or two plain windows where there is none). */
export function windowsFor(zone: string, halfWidth: number): [number, number][] {
  const ts = transitions(zone, sec('2026-01-01T00:00:00Z'), sec('2027-01-01T00:00:00Z'));
  const centers = ts.length ? ts : [sec('2026-03-29T01:00:00Z'), sec('2026-12-31T23:00:00Z')];
  return centers.map((c) => [c - halfWidth, c + halfWidth]);
}

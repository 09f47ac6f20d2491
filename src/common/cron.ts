/**
 * Cron schedules computed in a time zone, independently of the `cron` package's next-date logic
 * (which mishandles DST transitions). The accepted syntax is a subset of what `cron` 4.4.0 accepts,
 * so anything valid here is also valid for `CronTime.validateCronExpression`.
 *
 * Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading second field.
 * Each field is a comma-separated list of items: `*`, `*\/n`, `a`, `a-b`, `a-b/n` or `a/n` (= a to the
 * field's maximum, every n). Months may be written JAN-DEC, weekdays SUN-SAT (any case); day-of-week
 * 0 and 7 are both Sunday. Not supported (and rejected with a message naming the field): `?`, `L`, `W`,
 * `#`, nicknames such as `@daily`, wrap-around ranges (`FRI-MON`), names in the wrong field and names
 * glued to digits (the `cron` package turns `* * * jan1 *` into month 11, and `0 0 * * jan` into Monday).
 */

export class CronSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronSyntaxError';
  }
}

// ---------------------------------------------------------------------------------------------
// Naive (zone-less) calendar arithmetic on whole seconds; "wall" values are local wall-clock
// times encoded as if they were UTC seconds since 1970-01-01T00:00:00.
// ---------------------------------------------------------------------------------------------

const DAY = 86_400;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y -= 1;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

// civilFromDays writes into these to avoid allocating.
let cY = 0;
let cM = 0;
let cD = 0;
function civilFromDays(days: number): void {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  cD = doy - Math.floor((153 * mp + 2) / 5) + 1;
  cM = mp < 10 ? mp + 3 : mp - 9;
  cY = yoe + era * 400 + (cM <= 2 ? 1 : 0);
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m];
}

/** 0 = Sunday. 1970-01-01 was a Thursday. */
function weekdayOfDays(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

function utcYearOfSeconds(t: number): number {
  civilFromDays(Math.floor(t / DAY));
  return cY;
}

// ---------------------------------------------------------------------------------------------
// Time zones: offsets from Intl, and per-year offset segments.
// ---------------------------------------------------------------------------------------------

/** A stretch [s, e) of UTC seconds during which the zone's offset is `o` seconds. */
interface Segment {
  readonly s: number;
  readonly e: number;
  readonly o: number;
  /** Offset in force just before `s`. */
  readonly oPrev: number;
  /**
   * The smallest wall-clock second not reached before `s` (the supremum of all local times before `s`).
   * Wall times below it that recur in this segment are second occurrences (fall back); wall times in
   * [floorW, s + o) were skipped (spring forward).
   */
  readonly floorW: number;
  readonly chunk: YearChunk;
  readonly idx: number;
}

interface YearChunk {
  readonly year: number;
  readonly start: number;
  readonly end: number;
  readonly segs: Segment[];
}

const PROBE_STEP = 3 * 3600;
const LOOKBACK = 2 * DAY;
const WALL_RE = /^(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)$/;

class ZoneData {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly chunks = new Map<number, YearChunk>();

  constructor(readonly zone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Offset (local minus UTC) in whole seconds at UTC second `t`. */
  offsetSec(t: number): number {
    const date = new Date(t * 1000);
    const m = WALL_RE.exec(this.fmt.format(date));
    let y: number, mo: number, d: number, h: number, mi: number, s: number;
    if (m) {
      mo = +m[1];
      d = +m[2];
      y = +m[3];
      h = +m[4];
      mi = +m[5];
      s = +m[6];
    } else {
      // Unexpected shape (another ICU version?): fall back to the structured API.
      const parts: Record<string, string> = {};
      for (const p of this.fmt.formatToParts(date)) parts[p.type] = p.value;
      y = +parts.year;
      mo = +parts.month;
      d = +parts.day;
      h = +parts.hour;
      mi = +parts.minute;
      s = +parts.second;
    }
    if (h === 24) h = 0;
    return daysFromCivil(y, mo, d) * DAY + h * 3600 + mi * 60 + s - t;
  }

  /** The segment containing UTC second `t`. */
  segmentAt(t: number): Segment {
    const chunk = this.chunk(utcYearOfSeconds(t));
    const segs = chunk.segs;
    for (let i = segs.length - 1; i > 0; i--) if (t >= segs[i].s) return segs[i];
    return segs[0];
  }

  nextSegment(seg: Segment): Segment {
    const segs = seg.chunk.segs;
    return seg.idx + 1 < segs.length ? segs[seg.idx + 1] : this.chunk(seg.chunk.year + 1).segs[0];
  }

  /**
   * Offset transitions of one UTC year, found by probing every 3 hours (from 2 days before the year,
   * so that the wall-clock floor of the first segment is right) and bisecting to the second.
   */
  private chunk(year: number): YearChunk {
    const cached = this.chunks.get(year);
    if (cached) return cached;
    const start = daysFromCivil(year, 1, 1) * DAY;
    const end = daysFromCivil(year + 1, 1, 1) * DAY;
    const trans: { t: number; before: number; after: number }[] = [];
    let prevT = start - LOOKBACK;
    let prevO = this.offsetSec(prevT);
    for (let p = prevT + PROBE_STEP; p <= end; p += PROBE_STEP) {
      const o = this.offsetSec(p);
      if (o !== prevO) {
        let lo = prevT;
        let hi = p;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.offsetSec(mid) === prevO) lo = mid;
          else hi = mid;
        }
        if (hi < end) trans.push({ t: hi, before: prevO, after: this.offsetSec(hi) });
      }
      prevT = p;
      prevO = o;
    }
    const chunk: YearChunk = { year, start, end, segs: [] };
    const floorAt = (s: number, oPrev: number): number => {
      let f = s + oPrev;
      for (const tr of trans) if (tr.t < s && tr.t >= s - LOOKBACK) f = Math.max(f, tr.t + tr.before);
      return f;
    };
    let s = start;
    let o = this.offsetSec(start);
    let oPrev = this.offsetSec(start - 1);
    for (const tr of trans) {
      if (tr.t <= start) continue;
      chunk.segs.push({ s, e: tr.t, o, oPrev, floorW: floorAt(s, oPrev), chunk, idx: chunk.segs.length });
      s = tr.t;
      oPrev = tr.before;
      o = tr.after;
    }
    chunk.segs.push({ s, e: end, o, oPrev, floorW: floorAt(s, oPrev), chunk, idx: chunk.segs.length });
    this.chunks.set(year, chunk);
    return chunk;
  }
}

const zones = new Map<string, ZoneData>();
function zoneData(zone: string): ZoneData {
  let z = zones.get(zone);
  if (!z) {
    z = new ZoneData(zone); // throws RangeError for an unknown zone
    zones.set(zone, z);
  }
  return z;
}

export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || !zone) return false;
  if (zones.has(zone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function checkedSeconds(at: Date): number {
  const ms = at instanceof Date ? at.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  return Math.floor(ms / 1000);
}

/** Local wall-clock minus UTC, in ms, for that instant in that zone. */
export function zoneOffsetMs(at: Date, timeZone: string): number {
  return zoneData(timeZone).offsetSec(checkedSeconds(at)) * 1000;
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** ISO-8601 with the zone's offset at that instant, no milliseconds: "2026-03-29T03:30:00+02:00". */
export function formatInZone(at: Date, timeZone: string): string {
  const t = checkedSeconds(at);
  const o = zoneData(timeZone).offsetSec(t);
  const w = t + o;
  const days = Math.floor(w / DAY);
  let sod = w - days * DAY;
  civilFromDays(days);
  const h = Math.floor(sod / 3600);
  sod -= h * 3600;
  const mi = Math.floor(sod / 60);
  const s = sod - mi * 60;
  const abs = Math.abs(o);
  const oh = Math.floor(abs / 3600);
  const om = Math.floor((abs % 3600) / 60);
  const os = abs % 60;
  const offset = `${o < 0 ? '-' : '+'}${pad2(oh)}:${pad2(om)}${os ? `:${pad2(os)}` : ''}`;
  const year = cY >= 0 && cY <= 9999 ? String(cY).padStart(4, '0') : (cY < 0 ? '-' : '+') + String(Math.abs(cY)).padStart(6, '0');
  return `${year}-${pad2(cM)}-${pad2(cD)}T${pad2(h)}:${pad2(mi)}:${pad2(s)}${offset}`;
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

const MONTH_NAMES: Record<string, number> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Record<string, number>;
}

const SPECS: readonly FieldSpec[] = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day of month', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { label: 'day of week', min: 0, max: 7, names: DAY_NAMES },
];

const ITEM_RE = /^([0-9a-z]+)(?:-([0-9a-z]+))?(?:\/([0-9a-z]+))?$/i;
const STAR_RE = /^\*(?:\/([0-9a-z]+))?$/i;

function parseValue(token: string, spec: FieldSpec, item: string): number {
  const fail = (why: string): never => {
    throw new CronSyntaxError(`${spec.label}: ${why}`);
  };
  if (/^\d+$/.test(token)) {
    const v = Number(token);
    if (v < spec.min || v > spec.max) {
      fail(`value ${Number.isSafeInteger(v) ? v : token} is out of range ${spec.min}-${spec.max}`);
    }
    return v;
  }
  if (/^[a-z]+$/i.test(token)) {
    const lower = token.toLowerCase();
    if (spec.names && lower in spec.names) return spec.names[lower];
    if (lower === 'l' || lower === 'w' || lower === 'lw') fail(`"${token}" is not supported`);
    if (lower in MONTH_NAMES) fail(`"${token}" is a month name, not allowed here`);
    if (lower in DAY_NAMES) fail(`"${token}" is a weekday name, not allowed here`);
    fail(
      spec.names
        ? `unknown name "${token}" (use ${spec.label === 'month' ? 'JAN-DEC' : 'SUN-SAT'} or numbers)`
        : `unknown name "${token}" (only numbers are allowed)`,
    );
  }
  return fail(`invalid value "${token}" in "${item}"`);
}

function parseStep(token: string, spec: FieldSpec): number {
  if (!/^\d+$/.test(token)) throw new CronSyntaxError(`${spec.label}: step "${token}" is not a number`);
  const step = Number(token);
  if (step === 0) throw new CronSyntaxError(`${spec.label}: step 0 is not allowed`);
  return step;
}

/** The allowed values of one field (day of week: 0-6, with 7 folded into 0). */
function parseField(text: string, spec: FieldSpec): Uint8Array {
  const allowed = new Uint8Array(spec.max + 1);
  const fail = (why: string): never => {
    throw new CronSyntaxError(`${spec.label}: ${why}`);
  };
  for (const item of text.split(',')) {
    if (item === '') fail(`empty list item in "${text}"`);
    if (item.includes('?')) fail('"?" is not supported (use "*")');
    if (item.includes('#')) fail(`"${item}": "#" (nth weekday) is not supported`);
    let lo: number;
    let hi: number;
    let step = 1;
    const star = STAR_RE.exec(item);
    if (star) {
      lo = spec.min;
      hi = spec.max;
      if (star[1] !== undefined) step = parseStep(star[1], spec);
    } else {
      const m = ITEM_RE.exec(item);
      if (!m) return fail(`cannot parse "${item}"`);
      lo = parseValue(m[1], spec, item);
      if (m[3] !== undefined) step = parseStep(m[3], spec);
      if (m[2] !== undefined) {
        hi = parseValue(m[2], spec, item);
        if (lo > hi) fail(`range ${m[1]}-${m[2]} is reversed (wrap-around ranges are not supported)`);
      } else {
        hi = m[3] !== undefined ? spec.max : lo;
      }
    }
    for (let v = lo; v <= hi; v += step) allowed[v] = 1;
  }
  if (spec.label === 'day of week') {
    if (allowed[7]) allowed[0] = 1;
    return allowed.subarray(0, 7);
  }
  return allowed;
}

/** next[v] = smallest allowed value >= v, or -1; defined for v in 0..max+1. */
function nextTable(allowed: Uint8Array, max: number): Int8Array {
  const next = new Int8Array(max + 2).fill(-1);
  for (let v = max; v >= 0; v--) next[v] = allowed[v] ? v : next[v + 1];
  return next;
}

const enum DayMode {
  Any,
  DomOnly,
  DowOnly,
  Both,
  Either,
}

const MAX_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// ---------------------------------------------------------------------------------------------
// The schedule
// ---------------------------------------------------------------------------------------------

/**
 * A parsed cron expression bound to a time zone.
 *
 * Semantics. A cron expression names local wall-clock times (whole seconds) in `timeZone`:
 * - each matching wall-clock time fires exactly once;
 * - a wall-clock time that happens twice (fall back) fires at its FIRST occurrence only, so e.g. in
 *   Europe/Berlin on 2026-10-25 `30 2 * * *` fires once at 02:30+02:00 (00:30Z), and a per-second
 *   cron is silent during the repeated hour;
 * - a wall-clock time that does not exist (spring-forward gap) fires at the instant given by the
 *   offset in force BEFORE the gap (RFC 5545 / Temporal "compatible"): 02:30 in Europe/Berlin on
 *   2026-03-29 fires at 03:30+02:00 (01:30Z); several gap times that map to one instant (or to an
 *   instant that also fires normally, like 03:30 that day) fire once;
 * - fire instants are whole seconds; `next(after)` is the first one strictly after `after`.
 *
 * Day of month and day of week follow Vixie cron (and POSIX): when both fields are restricted, a
 * day matches if EITHER matches (`0 0 13 * 5` = every 13th and every Friday); when at least one of
 * them is unrestricted, both must match. As in Vixie cron/cronie, a field counts as unrestricted
 * when its text starts with `*` (so `*` and also `*\/2`).
 *
 * Algorithm: the zone's offset transitions are found per UTC year (Intl probing + bisection, cached
 * per zone), giving segments of constant offset. Within a segment [s, e) with offset o the local time
 * is t + o, so a fast field-by-field search on a naive calendar finds the next matching wall time W
 * and the instant W - o; wall times below the segment's floor (already reached earlier: second
 * occurrences) are skipped, and wall times in a spring-forward gap before the segment are searched
 * separately and mapped with the previous offset. The earliest candidate wins; otherwise the search
 * moves on to the next segment (jumping straight to the one near the next naive match).
 */
export class CronSchedule {
  readonly expression: string;
  readonly timeZone: string;
  readonly hasSeconds: boolean;

  private readonly fields: readonly string[];
  private readonly secNext: Int8Array;
  private readonly minNext: Int8Array;
  private readonly hourNext: Int8Array;
  private readonly domNext: Int8Array;
  private readonly monNext: Int8Array;
  private readonly dowAllowed: Uint8Array;
  /** dowDelta[wd] = days from weekday wd to the next allowed weekday (0-6). */
  private readonly dowDelta: Int8Array;
  private readonly dayMode: DayMode;
  /** No calendar day can ever match (e.g. `0 0 30 2 *`). */
  private readonly never: boolean;
  private readonly zone: ZoneData;
  private lastSeg: Segment | null = null;

  private constructor(expression: string, timeZone: string, fields: string[], hasSeconds: boolean) {
    this.expression = expression;
    this.timeZone = timeZone;
    this.hasSeconds = hasSeconds;
    this.fields = fields;
    const allowed = fields.map((text, i) => parseField(text, SPECS[i]));
    this.secNext = nextTable(allowed[0], 59);
    this.minNext = nextTable(allowed[1], 59);
    this.hourNext = nextTable(allowed[2], 23);
    this.domNext = nextTable(allowed[3], 31);
    this.monNext = nextTable(allowed[4], 12);
    this.dowAllowed = allowed[5];
    this.dowDelta = new Int8Array(7);
    for (let wd = 0; wd < 7; wd++) {
      let k = 0;
      while (k < 7 && !this.dowAllowed[(wd + k) % 7]) k++;
      this.dowDelta[wd] = k;
    }
    const domStar = fields[3].startsWith('*');
    const dowStar = fields[5].startsWith('*');
    const domFull = allowed[3].subarray(1).every((v) => v === 1);
    const dowFull = this.dowAllowed.every((v) => v === 1);
    if (!domStar && !dowStar) this.dayMode = DayMode.Either;
    else if (domFull && dowFull) this.dayMode = DayMode.Any;
    else if (dowFull) this.dayMode = DayMode.DomOnly;
    else if (domFull) this.dayMode = DayMode.DowOnly;
    else this.dayMode = DayMode.Both;
    let possible = this.dayMode === DayMode.Either;
    for (let m = 1; m <= 12 && !possible; m++) {
      if (!allowed[4][m]) continue;
      for (let d = 1; d <= MAX_DAYS_IN_MONTH[m] && !possible; d++) if (allowed[3][d]) possible = true;
    }
    this.never = !possible;
    this.zone = zoneData(timeZone);
  }

  static parse(expression: string, timeZone: string): CronSchedule {
    if (typeof expression !== 'string') throw new CronSyntaxError('the expression must be a string');
    const trimmed = expression.trim();
    if (trimmed.startsWith('@')) {
      throw new CronSyntaxError(`nicknames like "${trimmed.split(/\s+/)[0]}" are not supported; write the 5 or 6 fields`);
    }
    const parts = trimmed === '' ? [] : trimmed.split(/\s+/);
    if (parts.length !== 5 && parts.length !== 6) {
      throw new CronSyntaxError(
        `expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with a leading second), got ${parts.length}`,
      );
    }
    if (!isValidTimeZone(timeZone)) throw new CronSyntaxError(`unknown time zone "${String(timeZone)}"`);
    const hasSeconds = parts.length === 6;
    const fields = hasSeconds ? parts : ['0', ...parts];
    return new CronSchedule(trimmed, timeZone, fields, hasSeconds);
  }

  /** The first fire instant strictly after `after`, or null if none within 10 years. */
  next(after: Date): Date | null {
    const ms = after instanceof Date ? after.getTime() : NaN;
    if (!Number.isFinite(ms)) throw new RangeError('next(): invalid date');
    if (this.never) return null;
    let t0 = Math.floor(ms / 1000) + 1;
    const limitDate = new Date(ms);
    limitDate.setUTCFullYear(limitDate.getUTCFullYear() + 10);
    const limit = Math.floor(limitDate.getTime() / 1000);
    const limitYear = utcYearOfSeconds(limit + LOOKBACK);
    const zone = this.zone;
    let seg = this.lastSeg;
    if (!seg || t0 < seg.s || t0 >= seg.e) seg = zone.segmentAt(t0);
    for (;;) {
      let best = Infinity;
      const gapEnd = seg.s + seg.o;
      if (seg.floorW < gapEnd) {
        // Wall times skipped by the transition at seg.s, mapped with the offset before it.
        const lo = Math.max(seg.floorW, t0 + seg.oPrev);
        if (lo < gapEnd) {
          const w = this.naiveNext(lo, limitYear);
          if (w < gapEnd) best = w - seg.oPrev;
        }
      }
      const w = this.naiveNext(Math.max(t0 + seg.o, seg.floorW), limitYear);
      if (Number.isNaN(w)) {
        if (best === Infinity) return null;
      } else if (w < seg.e + seg.o) {
        if (w - seg.o < best) best = w - seg.o;
      } else if (best === Infinity) {
        // No wall time matches before w: skip to shortly before w's instant (offsets are < 2 days).
        const jump = w - LOOKBACK;
        if (jump > seg.e) {
          t0 = jump;
          if (t0 > limit) return null;
          seg = zone.segmentAt(t0);
          continue;
        }
      }
      if (best !== Infinity) {
        this.lastSeg = seg;
        return best <= limit ? new Date(best * 1000) : null;
      }
      t0 = seg.e;
      if (t0 > limit) return null;
      seg = zone.nextSegment(seg);
    }
  }

  /** Fire instants in (from, until], ascending, at most `max` (default 10000). */
  between(from: Date, until: Date, max = 10_000): Date[] {
    const out: Date[] = [];
    const end = until.getTime();
    let cursor: Date | null = from;
    while (out.length < max) {
      cursor = this.next(cursor);
      if (!cursor || cursor.getTime() > end) break;
      out.push(cursor);
    }
    return out;
  }

  /** APScheduler-style trigger text, e.g. "cron[hour='9,18', minute='0']". */
  describe(): string {
    const [second, minute, hour, day, month, dayOfWeek] = this.fields;
    const shown: [string, string | undefined][] = [
      ['month', month],
      ['day', day],
      ['day_of_week', dayOfWeek],
      ['hour', hour],
      ['minute', minute],
      ['second', this.hasSeconds && second !== '0' ? second : undefined],
    ];
    const parts = shown.filter(([, text]) => text !== undefined && text !== '*').map(([name, text]) => `${name}='${text}'`);
    // Every field a wildcard: name the finest one rather than print an empty trigger.
    if (parts.length === 0) parts.push(this.hasSeconds ? "second='*'" : "minute='*'");
    return `cron[${parts.join(', ')}]`;
  }

  /** The first matching naive wall time >= lo (whole seconds), or NaN if none before the end of `limitYear`. */
  private naiveNext(lo: number, limitYear: number): number {
    const days = Math.floor(lo / DAY);
    let sod = lo - days * DAY;
    civilFromDays(days);
    let y = cY;
    let mo = cM;
    let d = cD;
    let h = Math.floor(sod / 3600);
    sod -= h * 3600;
    let mi = Math.floor(sod / 60);
    let s = sod - mi * 60;
    const { monNext, hourNext, minNext, secNext } = this;
    for (;;) {
      if (y > limitYear) return NaN;
      const nm = monNext[mo];
      if (nm < 0) {
        y++;
        mo = 1;
        d = 1;
        h = mi = s = 0;
        continue;
      }
      if (nm !== mo) {
        mo = nm;
        d = 1;
        h = mi = s = 0;
      }
      const nd = this.nextDay(y, mo, d);
      if (nd < 0) {
        mo++;
        d = 1;
        h = mi = s = 0;
        continue;
      }
      if (nd !== d) {
        d = nd;
        h = mi = s = 0;
      }
      const nh = hourNext[h];
      if (nh < 0) {
        d++;
        h = mi = s = 0;
        continue;
      }
      if (nh !== h) {
        h = nh;
        mi = s = 0;
      }
      const nmi = minNext[mi];
      if (nmi < 0) {
        h++;
        mi = s = 0;
        continue;
      }
      if (nmi !== mi) {
        mi = nmi;
        s = 0;
      }
      const ns = secNext[s];
      if (ns < 0) {
        mi++;
        s = 0;
        continue;
      }
      return daysFromCivil(y, mo, d) * DAY + h * 3600 + mi * 60 + ns;
    }
  }

  /** The first matching day >= d in month mo of year y, or -1. */
  private nextDay(y: number, mo: number, d: number): number {
    const dim = daysInMonth(y, mo);
    if (d > dim) return -1;
    switch (this.dayMode) {
      case DayMode.Any:
        return d;
      case DayMode.DomOnly: {
        const v = this.domNext[d];
        return v > 0 && v <= dim ? v : -1;
      }
      case DayMode.DowOnly: {
        const v = d + this.dowDelta[weekdayOfDays(daysFromCivil(y, mo, d))];
        return v <= dim ? v : -1;
      }
      case DayMode.Either: {
        const a = this.domNext[d];
        const b = d + this.dowDelta[weekdayOfDays(daysFromCivil(y, mo, d))];
        const va = a > 0 && a <= dim ? a : 99;
        const vb = b <= dim ? b : 99;
        const v = Math.min(va, vb);
        return v === 99 ? -1 : v;
      }
      case DayMode.Both: {
        const wd1 = weekdayOfDays(daysFromCivil(y, mo, 1)); // weekday of day 1
        for (;;) {
          const v = this.domNext[d];
          if (v < 0 || v > dim) return -1;
          if (this.dowAllowed[(wd1 + v - 1) % 7]) return v;
          d = v + 1;
        }
      }
    }
  }
}

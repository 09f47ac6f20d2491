import { DAY, daysFromCivil, utcYearOfSeconds } from './calendar';

/**
 * Time zones: offsets from Intl, and per-year segments of constant offset.
 */

/** A stretch [s, e) of UTC seconds during which the zone's offset is `o` seconds. */
export interface Segment {
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
/** Longer than any offset, so a wall time and its instant are always within it of each other. */
export const LOOKBACK = 2 * DAY;
const WALL_RE = /^(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)$/;

export class ZoneData {
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
export function zoneData(zone: string): ZoneData {
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

export function checkedSeconds(at: Date): number {
  const ms = at instanceof Date ? at.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  return Math.floor(ms / 1000);
}

/** Local wall-clock minus UTC, in ms, for that instant in that zone. */
export function zoneOffsetMs(at: Date, timeZone: string): number {
  return zoneData(timeZone).offsetSec(checkedSeconds(at)) * 1000;
}

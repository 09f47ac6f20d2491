import { Civil, civilFromDays, DAY, daysFromCivil, daysInMonth, MAX_DAYS_IN_MONTH, weekdayOfDays } from './calendar';
import { FIELD_SPECS, parseField } from './fields';

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

/**
 * The fields of an expression, searched on a naive (zone-less) calendar: finds the next matching
 * wall-clock time, field by field. The schedule maps wall times to instants in its zone.
 *
 * Day of month and day of week follow Vixie cron (and POSIX): when both fields are restricted, a
 * day matches if EITHER matches (`0 0 13 * 5` = every 13th and every Friday); when at least one of
 * them is unrestricted, both must match. As in Vixie cron/cronie, a field counts as unrestricted
 * when its text starts with `*` (so `*` and also `*\/2`).
 */
export class WallMatcher {
  /** No calendar day can ever match (e.g. `0 0 30 2 *`). */
  readonly never: boolean;

  private readonly secNext: Int8Array;
  private readonly minNext: Int8Array;
  private readonly hourNext: Int8Array;
  private readonly domNext: Int8Array;
  private readonly monNext: Int8Array;
  private readonly dowAllowed: Uint8Array;
  /** dowDelta[wd] = days from weekday wd to the next allowed weekday (0-6). */
  private readonly dowDelta: Int8Array;
  private readonly dayMode: DayMode;
  private readonly civil: Civil = { y: 0, m: 0, d: 0 };

  /** `texts`: the six field texts, second first. Throws CronSyntaxError naming the first bad field. */
  constructor(texts: readonly string[]) {
    const allowed = texts.map((text, i) => parseField(text, FIELD_SPECS[i]));
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
    const domStar = texts[3].startsWith('*');
    const dowStar = texts[5].startsWith('*');
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
  }

  /** The first matching naive wall time >= lo (whole seconds), or NaN if none before the end of `limitYear`. */
  nextWall(lo: number, limitYear: number): number {
    const days = Math.floor(lo / DAY);
    let sod = lo - days * DAY;
    let { y, m: mo, d } = civilFromDays(days, this.civil);
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

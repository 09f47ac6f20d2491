/**
 * The cron grammar, which is our own (no other library re-checks it).
 *
 * Syntax: 5 fields (minute hour day-of-month month day-of-week) or 6 with a leading second field.
 * Each field is a comma-separated list of items: `*`, `*\/n`, `a`, `a-b`, `a-b/n` or `a/n` (= a to the
 * field's maximum, every n). Months may be written JAN-DEC, weekdays SUN-SAT (any case); day-of-week
 * 0 and 7 are both Sunday. Not supported (and rejected with a message naming the field): `?`, `L`, `W`,
 * `#`, nicknames such as `@daily`, wrap-around ranges (`FRI-MON`), names in the wrong field and names
 * glued to digits (other cron libraries read `* * * jan1 *` as month 11, and `0 0 * * jan` as Monday).
 */

export class CronSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronSyntaxError';
  }
}

const MONTH_NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

interface FieldSpec {
  readonly label: string;
  readonly min: number;
  readonly max: number;
  readonly names?: Record<string, number>;
}

/** The six fields, second first. */
export const FIELD_SPECS: readonly FieldSpec[] = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day of month', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { label: 'day of week', min: 0, max: 7, names: DAY_NAMES },
];

const ITEM_RE = /^([0-9a-z]+)(?:-([0-9a-z]+))?(?:\/([0-9a-z]+))?$/i;
const STAR_RE = /^\*(?:\/([0-9a-z]+))?$/i;

export interface CronFields {
  /** The expression without surrounding white space. */
  readonly expression: string;
  /** Six field texts, second first ('0' when the expression has 5 fields). */
  readonly texts: readonly string[];
  readonly hasSeconds: boolean;
}

/** Splits an expression into its fields; refuses nicknames and wrong field counts. */
export function splitFields(expression: string): CronFields {
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
  const hasSeconds = parts.length === 6;
  return { expression: trimmed, texts: hasSeconds ? parts : ['0', ...parts], hasSeconds };
}

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

/** The allowed values of one field: allowed[v] is 1 when v matches (day of week: 0-6, with 7 folded into 0). */
export function parseField(text: string, spec: FieldSpec): Uint8Array {
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
  if (spec === FIELD_SPECS[5]) {
    if (allowed[7]) allowed[0] = 1;
    return allowed.subarray(0, 7);
  }
  return allowed;
}

import * as fc from 'fast-check';
import { CronSchedule, CronSyntaxError } from '.';
import { GRAMMAR_FIELDS, inGrammar } from './oracle';

/**
 * Property tests of our own grammar. The parser is the only judge of an expression (nothing else
 * re-checks it), so it is held to the grammar as written down in oracle.ts: it accepts every
 * expression in it, refuses everything else with a CronSyntaxError, and says which field is wrong.
 */

type Field = (typeof GRAMMAR_FIELDS)[number];

const SEED = 20260329;

/** A value of the field: a number (sometimes zero-padded), or its name in any case. */
function value(field: Field, v: number): fc.Arbitrary<string> {
  const names = field.names ? field.names.split('|') : [];
  const name = names[v - (field.label === 'month' ? 1 : 0)];
  const forms = [String(v), String(v).padStart(2, '0')];
  if (name) forms.push(name, name.toUpperCase(), name[0].toUpperCase() + name.slice(1));
  return fc.constantFrom(...forms);
}

function item(field: Field): fc.Arbitrary<string> {
  const v = fc.integer({ min: field.lo, max: field.hi });
  const step = fc.integer({ min: 1, max: field.hi + 3 });
  const range = fc.tuple(v, v).chain(([a, b]) => fc.tuple(value(field, Math.min(a, b)), value(field, Math.max(a, b))));
  return fc.oneof(
    fc.constant('*'),
    step.map((n) => `*/${n}`),
    v.chain((a) => value(field, a)),
    range.map(([a, b]) => `${a}-${b}`),
    fc.tuple(range, step).map(([[a, b], n]) => `${a}-${b}/${n}`),
    fc
      .tuple(
        v.chain((a) => value(field, a)),
        step,
      )
      .map(([a, n]) => `${a}/${n}`),
  );
}

const fieldText = (field: Field): fc.Arbitrary<string> =>
  fc.array(item(field), { minLength: 1, maxLength: 3 }).map((items) => items.join(','));
const space = fc.constantFrom(' ', '  ', '\t');

/** Expressions in the grammar: 5 fields, or 6 with seconds first, with any white space around and between them. */
const validExpression: fc.Arbitrary<string> = fc
  .tuple(
    fc.boolean(),
    fc.tuple(...GRAMMAR_FIELDS.map(fieldText)),
    fc.array(space, { minLength: 5, maxLength: 5 }),
    fc.constantFrom('', ' ', '\t '),
  )
  .map(([withSeconds, all, gaps, pad]) => {
    const fields = withSeconds ? all : all.slice(1);
    return pad + fields.map((f, i) => (i === 0 ? f : gaps[i - 1] + f)).join('') + pad;
  });

/**
 * Small edits: replace, insert or delete one character (among those that cron syntax and its
 * look-alikes use), or replace a whole number by one at or just past a field's bounds.
 */
const edit = fc.record({
  at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  op: fc.constantFrom('replace', 'insert', 'delete', 'number'),
  ch: fc.constantFrom(...'*?/-,0123456789 LW#@jJmMsSxX'),
  num: fc.constantFrom('0', '00', '1', '6', '7', '8', '12', '13', '23', '24', '31', '32', '59', '60', '99999999999999999999'),
});
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function applyEdits(expr: string, edits: Edit[]): string {
  for (const { at, op, ch, num } of edits) {
    const i = Math.floor(at * (expr.length + 1));
    const numbers = [...expr.matchAll(/\d+/g)];
    if (op === 'replace') expr = expr.slice(0, i) + ch + expr.slice(i + 1);
    else if (op === 'insert') expr = expr.slice(0, i) + ch + expr.slice(i);
    else if (op === 'delete') expr = expr.slice(0, i) + expr.slice(i + 1);
    else if (numbers.length > 0) {
      const { index, 0: digits } = numbers[Math.floor(at * numbers.length)];
      expr = expr.slice(0, index) + num + expr.slice(index + digits.length);
    }
  }
  return expr;
}

/** null when the parser accepts; otherwise its error, which must be a CronSyntaxError. */
function parseError(expr: string): Error | null {
  try {
    CronSchedule.parse(expr, 'UTC');
    return null;
  } catch (error) {
    if (!(error instanceof CronSyntaxError)) throw error;
    return error;
  }
}

describe('the cron grammar (property tests)', () => {
  it('accepts every expression the grammar describes', () => {
    fc.assert(
      fc.property(validExpression, (expr) => {
        expect(inGrammar(expr)).toBe(true);
        expect(parseError(expr)).toBeNull();
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('accepts exactly the grammar: edited expressions are refused with a CronSyntaxError when, and only when, they leave it', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(validExpression, fc.array(edit, { minLength: 1, maxLength: 2 }), (valid, edits) => {
        const expr = applyEdits(valid, edits);
        const error = parseError(expr);
        expect({ expr, accepted: error === null }).toEqual({ expr, accepted: inGrammar(expr) });
        if (error) refused++;
        else accepted++;
      }),
      { numRuns: 3000, seed: SEED },
    );
    // Both sides of the grammar were exercised.
    expect(accepted).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });

  it('a refusal names the field and the problem', () => {
    const label = new RegExp(`^(${GRAMMAR_FIELDS.map((f) => f.label).join('|')}): `);
    fc.assert(
      fc.property(validExpression, fc.array(edit, { minLength: 1, maxLength: 2 }), (valid, edits) => {
        const expr = applyEdits(valid, edits);
        const error = parseError(expr);
        if (!error) return;
        const fieldCount = expr.trim() === '' ? 0 : expr.trim().split(/\s+/).length;
        const whole = expr.trim().startsWith('@') || (fieldCount !== 5 && fieldCount !== 6);
        // Either the expression as a whole (a nickname, or the wrong number of fields) or one named field.
        expect(error.message).toMatch(whole ? /^(nicknames like ".*" are not supported|expected 5 fields .* got \d+$)/ : label);
      }),
      { numRuns: 2000, seed: SEED + 1 },
    );
  });

  it('an out-of-range number is refused with its field, its value and the range', () => {
    fc.assert(
      fc.property(validExpression, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1000 }), (valid, index, n) => {
        const parts = valid.trim().split(/\s+/);
        const fields = parts.length === 6 ? GRAMMAR_FIELDS : GRAMMAR_FIELDS.slice(1);
        const i = index % parts.length;
        const { label, lo, hi } = fields[i];
        fc.pre(n < lo || n > hi);
        parts[i] = String(n);
        expect(parseError(parts.join(' '))?.message).toBe(`${label}: value ${n} is out of range ${lo}-${hi}`);
      }),
      { numRuns: 1000, seed: SEED },
    );
  });
});

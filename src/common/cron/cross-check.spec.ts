import { CronSchedule } from '.';
import { againstOracle, inGrammar, prng, RANDOM_ZONES, randomExpression, windowsFor } from './oracle';

/** Compares between() with the oracle for every expression in windows around the zone's transitions. */
function compareAll(exprs: string[], zone: string, halfWidth: number, step: number): { cases: number; nonEmpty: number } {
  let cases = 0;
  let nonEmpty = 0;
  for (const [from, until] of windowsFor(zone, halfWidth)) {
    for (const expr of exprs) {
      const { got, want } = againstOracle(expr, zone, from, until, step);
      expect({ expr, zone, fires: got }).toEqual({ expr, zone, fires: want });
      cases++;
      if (want.length > 0) nonEmpty++;
    }
  }
  return { cases, nonEmpty };
}

describe('randomized cross-check against the oracle', () => {
  const rng = prng(20260329);
  const minuteExprs = Array.from({ length: 200 }, () => randomExpression(rng, false));
  const secondExprs = Array.from({ length: 40 }, () => randomExpression(rng, true, true));

  it('generated expressions are in the grammar', () => {
    for (const expr of [...minuteExprs, ...secondExprs]) {
      expect({ expr, valid: inGrammar(expr) }).toEqual({ expr, valid: true });
      expect(() => CronSchedule.parse(expr, 'UTC')).not.toThrow();
    }
  });

  it.each(RANDOM_ZONES)('200 five-field expressions, minute by minute, in %s', (zone) => {
    const { cases, nonEmpty } = compareAll(minuteExprs, zone, 36 * 3600, 60);
    expect(nonEmpty).toBeGreaterThan(cases / 4); // the comparison is not vacuous
  });

  it.each(RANDOM_ZONES)('40 six-field expressions, second by second, in %s', (zone) => {
    const { cases, nonEmpty } = compareAll(secondExprs, zone, 3600, 1);
    expect(nonEmpty).toBeGreaterThan(cases / 3); // the comparison is not vacuous
  });
});

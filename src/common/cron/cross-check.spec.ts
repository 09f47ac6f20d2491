import { CronSchedule } from '.';
import { againstOracle, inGrammar, prng, RANDOM_ZONES, randomExpression, windowsFor } from './oracle';

/** Compares between() with the oracle; returns the number of fires. */
const expectMatchesOracle = (expr: string, zone: string, fromSec: number, untilSec: number, step = 60): number => {
  const { got, want } = againstOracle(expr, zone, fromSec, untilSec, step);
  expect({ expr, zone, fires: got }).toEqual({ expr, zone, fires: want });
  return want.length;
};

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

import { CronSchedule } from '../common/cron';
import { FIRE_SCAN_LIMIT, MAX_CATCH_UP_RUNS, planFires, triggerFor, withinGrace } from './fire-planner';

const at = (iso: string) => new Date(iso);
const daily = CronSchedule.parse('0 0 * * *', 'UTC');
const iso = (d: Date) => d.toISOString();

describe('planFires', () => {
  const bootAt = at('2026-12-05T12:00:00Z');

  it('plans nothing before the next fire, and says when that is', () => {
    const plan = planFires(
      daily,
      { coalesce: true, misfireGraceSeconds: null },
      { after: at('2026-12-05T00:00:00Z'), now: at('2026-12-05T23:59:59Z'), bootAt },
    );
    expect(plan.due).toEqual([]);
    expect(plan.missed).toBeUndefined();
    expect(iso(plan.nextFire!)).toBe('2026-12-06T00:00:00.000Z');
  });

  it('runs a fire that is due now as scheduled', () => {
    const plan = planFires(
      daily,
      { coalesce: true, misfireGraceSeconds: null },
      { after: at('2026-12-05T00:00:00Z'), now: at('2026-12-06T00:00:00Z'), bootAt },
    );
    expect(plan.due).toEqual([{ at: at('2026-12-06T00:00:00Z'), trigger: 'scheduled' }]);
    expect(iso(plan.nextFire!)).toBe('2026-12-07T00:00:00.000Z');
  });

  it('coalesces fires missed in downtime into the latest, run as a catch-up that counts the others', () => {
    // Down from 1 December to the 5th at noon: four midnights passed.
    const plan = planFires(
      daily,
      { coalesce: true, misfireGraceSeconds: null },
      { after: at('2026-12-01T00:00:00Z'), now: bootAt, bootAt },
    );
    expect(plan.due).toEqual([{ at: at('2026-12-05T00:00:00Z'), trigger: 'catch-up', coalescedFires: 3 }]);
    expect(plan.missed).toBeUndefined();
  });

  it('without coalesce runs every missed fire, oldest first', () => {
    const plan = planFires(
      daily,
      { coalesce: false, misfireGraceSeconds: null },
      { after: at('2026-12-01T00:00:00Z'), now: bootAt, bootAt },
    );
    expect(plan.due.map((f) => iso(f.at))).toEqual([
      '2026-12-02T00:00:00.000Z',
      '2026-12-03T00:00:00.000Z',
      '2026-12-04T00:00:00.000Z',
      '2026-12-05T00:00:00.000Z',
    ]);
    expect(plan.due.every((f) => f.trigger === 'catch-up' && f.coalescedFires === undefined)).toBe(true);
  });

  it(`without coalesce keeps the latest ${MAX_CATCH_UP_RUNS} and counts the older ones as missed`, () => {
    const now = at('2026-12-05T12:00:00Z');
    const plan = planFires(daily, { coalesce: false, misfireGraceSeconds: null }, { after: at('2026-06-01T00:00:00Z'), now, bootAt: now });
    expect(plan.due).toHaveLength(MAX_CATCH_UP_RUNS);
    expect(iso(plan.due[plan.due.length - 1].at)).toBe('2026-12-05T00:00:00.000Z');
    // 2 June to 5 December is 187 midnights.
    const missed = plan.missed!;
    expect([missed.count, iso(missed.first), missed.trigger]).toEqual([187 - MAX_CATCH_UP_RUNS, '2026-06-02T00:00:00.000Z', 'catch-up']);
    expect(missed.latest.getTime()).toBe(plan.due[0].at.getTime() - 86_400_000);
  });

  it('never runs a fire later than the misfire grace, and counts it as missed', () => {
    const now = at('2026-12-05T00:10:00Z');
    const plan = planFires(daily, { coalesce: true, misfireGraceSeconds: 300 }, { after: at('2026-12-03T00:00:00Z'), now, bootAt: now });
    expect(plan.due).toEqual([]);
    expect(plan.missed).toEqual({ count: 2, first: at('2026-12-04T00:00:00Z'), latest: at('2026-12-05T00:00:00Z'), trigger: 'catch-up' });
  });

  it('runs a fire inside the grace and misses the ones outside it', () => {
    const everyMinute = CronSchedule.parse('* * * * *', 'UTC');
    const now = at('2026-12-05T00:10:30Z');
    const plan = planFires(
      everyMinute,
      { coalesce: false, misfireGraceSeconds: 120 },
      { after: at('2026-12-05T00:05:00Z'), now, bootAt: at('2026-12-05T00:00:00Z') },
    );
    expect(plan.due.map((f) => iso(f.at))).toEqual(['2026-12-05T00:09:00.000Z', '2026-12-05T00:10:00.000Z']);
    expect(plan.due.every((f) => f.trigger === 'scheduled')).toBe(true);
    expect(plan.missed).toEqual({ count: 3, first: at('2026-12-05T00:06:00Z'), latest: at('2026-12-05T00:08:00Z'), trigger: 'scheduled' });
  });

  it('walks a one-second cron through a day of downtime in chunks, and coalesces it into one run', () => {
    const everySecond = CronSchedule.parse('* * * * * *', 'UTC');
    const now = at('2026-12-06T00:00:00Z');
    const plan = planFires(
      everySecond,
      { coalesce: true, misfireGraceSeconds: null },
      { after: at('2026-12-05T00:00:00Z'), now, bootAt: now },
    );
    expect(plan.due).toEqual([{ at: now, trigger: 'scheduled', coalescedFires: 86_399 }]);
  });

  it(`stops looking after ${FIRE_SCAN_LIMIT} fires`, () => {
    const everySecond = CronSchedule.parse('* * * * * *', 'UTC');
    const after = at('2026-01-01T00:00:00Z');
    const now = new Date(after.getTime() + 3 * FIRE_SCAN_LIMIT * 1000);
    const plan = planFires(everySecond, { coalesce: true, misfireGraceSeconds: null }, { after, now, bootAt: now });
    expect(plan.due).toHaveLength(1);
    expect(plan.due[0].coalescedFires).toBe(FIRE_SCAN_LIMIT - 1);
    expect(plan.due[0].at.getTime()).toBe(after.getTime() + FIRE_SCAN_LIMIT * 1000);
  });
});

describe('withinGrace and triggerFor', () => {
  it('a null grace accepts any delay; a set one accepts up to and including it', () => {
    const fire = at('2026-12-05T00:00:00Z');
    expect(withinGrace({ misfireGraceSeconds: null }, fire, at('2027-12-05T00:00:00Z'))).toBe(true);
    expect(withinGrace({ misfireGraceSeconds: 60 }, fire, at('2026-12-05T00:01:00Z'))).toBe(true);
    expect(withinGrace({ misfireGraceSeconds: 60 }, fire, at('2026-12-05T00:01:00.001Z'))).toBe(false);
  });

  it('a fire from before the replica started is a catch-up', () => {
    const boot = at('2026-12-05T12:00:00Z');
    expect(triggerFor(at('2026-12-05T11:59:59Z'), boot)).toBe('catch-up');
    expect(triggerFor(boot, boot)).toBe('scheduled');
  });
});

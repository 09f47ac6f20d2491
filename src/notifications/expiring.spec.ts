import { retentionPlan } from '../cleanup/retention';
import { expiringConversations, expiringMessages } from './expiring';

describe('expiring-record queries', () => {
  const t1 = retentionPlan(new Date('2026-12-02T00:00:00Z'), 30, [7, 14]);
  const t2 = retentionPlan(new Date('2026-12-03T00:00:00Z'), 30, [7, 14]);
  const builders = { expiringMessages, expiringConversations };

  // SQLite binds `?` by position: every placeholder needs its parameter, in the order of the text.
  it.each(Object.entries(builders).flatMap(([name, build]) => [[name, build, false] as const, [name, build, true] as const]))(
    '%s (after a previous run: %p) has one SQLite parameter per placeholder',
    (_name, build, withPrevious) => {
      const q = build('sqlite', t2, withPrevious ? t1 : undefined);
      expect(q.sql.split('?').length - 1).toBe(q.params.length);
      const pg = build('postgres', t2, withPrevious ? t1 : undefined);
      expect(Math.max(...[...pg.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))).toBe(pg.params.length);
    },
  );

  it('binds SQLite timestamps in the text form TypeORM stores', () => {
    const q = expiringMessages('sqlite', t1);
    expect(q.params[0]).toBe('2026-11-25 00:00:00.000');
  });

  it('bounds the message scan by the run before: everything at or before its earliest cutoff went then', () => {
    const q = expiringMessages('postgres', t2, t1);
    expect(q.params.slice(0, 2)).toEqual([new Date('2026-11-26T00:00:00Z'), new Date('2026-11-02T00:00:00Z')]);
  });
});

import { SqlParams } from '../database/sql';
import { conversationDue, cutoff, messageDue, retentionPlan } from './retention';

describe('retention arithmetic', () => {
  const at = new Date('2026-11-29T00:00:00.000Z');

  it('puts the cutoff exactly RETENTION_DAYS × 24 h before the scheduled time', () => {
    expect(cutoff(at, 30).toISOString()).toBe('2026-10-30T00:00:00.000Z');
    // Across a DST change in Europe: still exact 24-hour days.
    expect(cutoff(new Date('2026-04-01T00:00:00.000Z'), 7).toISOString()).toBe('2026-03-25T00:00:00.000Z');
  });

  it('makes one segment for the default and one per distinct shorter retention, ignoring longer or invalid ones', () => {
    const plan = retentionPlan(at, 30, [7, 14, 7, 30, 45, 0]);
    expect(plan.cutoff.toISOString()).toBe('2026-10-30T00:00:00.000Z');
    expect(plan.segments.map((s) => [s.retentionDays, s.cutoff.toISOString(), s.after?.toISOString()])).toEqual([
      [30, '2026-10-30T00:00:00.000Z', undefined],
      [7, '2026-11-22T00:00:00.000Z', '2026-10-30T00:00:00.000Z'],
      [14, '2026-11-15T00:00:00.000Z', '2026-10-30T00:00:00.000Z'],
    ]);
  });

  it('binds SQLite parameters in the order their placeholders appear', () => {
    const plan = retentionPlan(at, 30, [7]);
    const p = new SqlParams('sqlite');
    const sql = conversationDue(plan, plan.segments[0], p);
    expect(sql.split('?').length - 1).toBe(p.values.length);
    expect(p.values).toEqual(['2026-10-30 00:00:00.000', 7, '2026-10-30 00:00:00.000']);
    const q = new SqlParams('sqlite');
    messageDue(plan.segments[1], q);
    expect(q.values).toEqual(['2026-11-22 00:00:00.000', '2026-10-30 00:00:00.000', 7]);
  });

  it('numbers PostgreSQL parameters and passes dates as Date', () => {
    const plan = retentionPlan(at, 30, []);
    const p = new SqlParams('postgres');
    expect(messageDue(plan.segments[0], p)).toBe('m.created_at <= $1');
    expect(p.values).toEqual([plan.cutoff]);
  });

  it('holds back, per segment, what arrived within NOTICE_DAYS_BEFORE (or the retention, if shorter) after the last notice', () => {
    const plan = retentionPlan(at, 30, [1], 2);
    expect(plan.segments.map((s) => s.heldAfter?.toISOString())).toEqual(['2026-11-27T00:00:00.000Z', '2026-11-28T00:00:00.000Z']);
    const p = new SqlParams('sqlite');
    const sql = messageDue(plan.segments[0], p);
    expect(sql).toMatch(/^m\.created_at <= \? AND NOT \(m\.received_at IS NOT NULL AND m\.received_at > \?/);
    expect(sql).toContain('m.received_at > hnc.received_until');
    expect(p.values).toEqual(['2026-10-30 00:00:00.000', '2026-11-27 00:00:00.000']);
    // Without the notice lead (a plan of its own), nothing is held.
    expect(retentionPlan(at, 30, []).segments[0].heldAfter).toBeUndefined();
  });
});

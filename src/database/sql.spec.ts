import { fromSqlBoolean, fromSqlTimestamp, SqlParams } from './sql';

describe('raw SQL values', () => {
  it('reads a boolean as either driver answers it', () => {
    for (const yes of [true, 1, '1', 't']) expect(fromSqlBoolean(yes)).toBe(true);
    for (const no of [false, 0, '0', 'f', null, undefined]) expect(fromSqlBoolean(no)).toBe(false);
  });

  it('reads a timestamp from a PostgreSQL Date or SQLite text, and none from NULL', () => {
    const at = new Date('2026-11-29T08:15:30.250Z');
    expect(fromSqlTimestamp(at)).toBe(at);
    expect(fromSqlTimestamp('2026-11-29 08:15:30.250')?.toISOString()).toBe('2026-11-29T08:15:30.250Z');
    expect(fromSqlTimestamp(null)).toBeUndefined();
  });

  it('binds parameters positionally on SQLite and numbered on PostgreSQL, dates in each driver form', () => {
    const at = new Date('2026-11-29T00:00:00.000Z');
    const s = new SqlParams('sqlite');
    expect(`${s.add(at)} ${s.add(7)}`).toBe('? ?');
    expect(s.values).toEqual(['2026-11-29 00:00:00.000', 7]);
    const p = new SqlParams('postgres');
    expect(`${p.add(at)} ${p.add(7)}`).toBe('$1 $2');
    expect(p.values).toEqual([at, 7]);
  });
});

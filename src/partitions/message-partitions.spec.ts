import { isMissingPartition, utcDay } from './message-partitions';

describe('message partitions', () => {
  it('puts an instant in its UTC day, whatever the offset it was written with', () => {
    expect(utcDay(new Date('2026-11-30T23:59:59.999Z')).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(utcDay(new Date('2026-12-01T00:30:00+01:00')).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(utcDay(new Date('2026-12-01T00:00:00.000Z')).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(utcDay(new Date(0)).toISOString()).toBe('1970-01-01T00:00:00.000Z');
  });

  it("knows PostgreSQL's refusal of a row no partition covers from other check violations", () => {
    expect(isMissingPartition({ code: '23514', message: 'no partition of relation "message" found for row' })).toBe(true);
    expect(
      isMissingPartition({
        code: '23514',
        message: 'new row for relation "message_p20261130" violates check constraint "CHK_message_role"',
      }),
    ).toBe(false);
    expect(isMissingPartition({ code: '23505', message: 'no partition of relation' })).toBe(false);
    expect(isMissingPartition(undefined)).toBe(false);
  });
});

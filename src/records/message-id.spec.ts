import { messageId, messageIdTime } from './message-id';

describe('messageId', () => {
  it('is a version-7 UUID of the RFC 9562 variant whose time is the message created_at', () => {
    const at = new Date('2026-11-30T12:34:56.789Z');
    const id = messageId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(messageIdTime(id)).toEqual(at);
  });

  it('covers every date the API accepts, 1970 to 9999', () => {
    for (const at of [new Date(0), new Date('9999-12-31T23:59:59.999Z')]) expect(messageIdTime(messageId(at))).toEqual(at);
  });

  it('differs for messages of the same millisecond (62 random bits), across pool refills', () => {
    const at = new Date('2026-11-30T00:00:00Z');
    const ids = new Set(Array.from({ length: 10_000 }, () => messageId(at)));
    expect(ids.size).toBe(10_000);
  });

  it('sorts the ids of one millisecond in the order they were made, as both databases compare them', () => {
    const at = new Date('2026-11-30T08:00:00.123Z');
    const ids = Array.from({ length: 5000 }, () => messageId(at));
    // PostgreSQL compares uuids byte by byte, SQLite the lower-case text: the same order.
    expect([...ids].sort()).toEqual(ids.slice(0, 4095).concat([...ids.slice(4095)].sort()));
    expect(ids.slice(0, 3).map((id) => id.slice(14, 18))).toEqual(['7000', '7001', '7002']);
    expect(messageIdTime(ids[4999])).toEqual(at);
    // Another millisecond starts the count again.
    expect(messageId(new Date(at.getTime() + 1)).slice(14, 18)).toBe('7000');
  });

  it('reads no time from a random (version 4) id', () => {
    expect(messageIdTime('0b7d6a3e-55c4-4c1e-9f5b-0d7f3f7c9a11')).toBeUndefined();
  });
});

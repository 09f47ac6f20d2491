import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(16 * 256);
let next = pool.length;

/**
 * A message's id: a UUIDv7 (RFC 9562) whose time is the message's own created_at, not the time of
 * the request. On PostgreSQL the message table is partitioned by created_at and its primary key is
 * (id, created_at): a partitioned table cannot enforce uniqueness without the partition key. An id
 * that encodes its created_at fixes the one partition its row can be in, so that partition's primary
 * key refuses a second row with the same id; the CHECK "CHK_message_id_time" makes the database
 * refuse a version-7 id whose time is not its row's created_at (1764806400000-partitioned-messages.ts).
 * The 12 bits after the version hold the microseconds within the millisecond (always 0 from a JS Date),
 * and 62 random bits follow. Ids stored before this change are random (version 4) and stay valid.
 */
export function messageId(createdAt: Date): string {
  if (next + 16 > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const b = Buffer.from(pool.subarray(next, next + 16));
  next += 16;
  b.writeUIntBE(createdAt.getTime(), 0, 6);
  b[6] = 0x70; // version 7; the sub-millisecond microseconds (0) in the low 12 bits of bytes 6-7
  b[7] = 0;
  b[8] = 0x80 | (b[8] & 0x3f); // the RFC 9562 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The instant a version-7 message id encodes (to the millisecond), or undefined for any other id. */
export function messageIdTime(id: string): Date | undefined {
  if (id[14] !== '7') return undefined;
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}

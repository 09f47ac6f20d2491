import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(16 * 256);
let next = pool.length;

/**
 * A message's id: a UUIDv7 (RFC 9562) whose time is the message's own created_at, not the time of
 * the request. On PostgreSQL the message table is partitioned by created_at and its primary key is
 * (id, created_at): a partitioned table cannot enforce uniqueness without the partition key. An id
 * that encodes its created_at fixes the one partition its row can be in, so that partition's primary
 * key refuses a second row with the same id. A client may send its own id instead (any UUID, for safe
 * retries); those are checked for repeats by a lookup (RecordsService.appendMessages).
 * The 12 bits after the version count the ids this process made for the same millisecond, one after
 * another (RFC 9562's fixed-length counter): messages are read in (created_at, id) order, and a batch
 * sent without createdAt puts all its messages in one millisecond, so the counter is what keeps them
 * in the order they were said. 62 random bits follow. Ids stored before this change are random
 * (version 4) and stay valid.
 */
let lastMs = -1;
let sequence = 0;

export function messageId(createdAt: Date): string {
  if (next + 16 > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const b = Buffer.from(pool.subarray(next, next + 16));
  next += 16;
  const ms = createdAt.getTime();
  // Past 4,095 ids in one millisecond the counter stays at its top, and only those ids' order is left to chance.
  sequence = ms === lastMs ? Math.min(sequence + 1, 0xfff) : 0;
  lastMs = ms;
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (sequence >> 8); // version 7, then the counter's 12 bits
  b[7] = sequence & 0xff;
  b[8] = 0x80 | (b[8] & 0x3f); // the RFC 9562 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The instant a version-7 message id encodes (to the millisecond), or undefined for any other id. */
export function messageIdTime(id: string): Date | undefined {
  if (id[14] !== '7') return undefined;
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}

import { randomUUID } from 'node:crypto';
import { DrillDb, sqliteTs } from './db';

export const DAY_MS = 86_400_000;

const bool = (db: DrillDb, value: boolean) => (db.kind === 'postgres' ? String(value) : value ? '1' : '0');

/** A UUID-shaped id from a number (deterministic, so seeded rows can be recognised). */
export function seqUuid(n: number, tag = 0): string {
  const hex = n.toString(16).padStart(12, '0');
  return `${tag.toString(16).padStart(8, '0')}-0000-4000-8000-${hex}`;
}

/** One guardian and one child, written by SQL; answers the child id. */
export async function seedFamily(
  db: DrillDb,
  email: string,
  at: Date,
  options: { locale?: 'en' | 'ar'; guardianId?: string; childId?: string } = {},
): Promise<{ guardianId: string; childId: string }> {
  const guardianId = options.guardianId ?? randomUUID();
  const childId = options.childId ?? randomUUID();
  await db.run(
    `INSERT INTO guardian (id, email, display_name, locale, notifications_enabled, created_at) VALUES ($1, $2, $3, $4, ${bool(db, true)}, $5)`,
    [guardianId, email, `Parent ${email.split('@')[0]}`, options.locale ?? 'en', db.ts(at)],
  );
  await db.run('INSERT INTO child (id, guardian_id, display_name, created_at) VALUES ($1, $2, $3, $4)', [
    childId,
    guardianId,
    `Child of ${email.split('@')[0]}`,
    db.ts(at),
  ]);
  return { guardianId, childId };
}

export async function seedConversation(db: DrillDb, childId: string, startedAt: Date, id: string = randomUUID()): Promise<string> {
  await db.run('INSERT INTO conversation (id, child_id, started_at, created_at) VALUES ($1, $2, $3, $4)', [
    id,
    childId,
    db.ts(startedAt),
    db.ts(startedAt),
  ]);
  return id;
}

/**
 * `messages` expired messages (as seedExpiredConversation) just before the cutoff of a cleanup run
 * started from now on (RETENTION_DAYS 30), on PostgreSQL a microsecond apart in the cutoff's own UTC
 * day: a run deletes them in batches on both databases, where a day wholly before the cutoff goes as
 * one partition drop, with no batch for a test to kill, freeze or restart the database in. In the
 * first 5 s after midnight UTC that day is too young to hold them: it waits until it is not.
 */
export async function seedExpiredInCutoffDay(db: DrillDb, messages: number): Promise<string> {
  const since = Date.now() % DAY_MS;
  if (db.kind === 'postgres' && since < 5000) await new Promise((r) => setTimeout(r, 5000 - since));
  return seedExpiredConversation(db, messages, 60, new Date(Date.now() - 30 * DAY_MS - 1000));
}

/**
 * One family with one conversation holding `messages` messages created `ageDays` days ago, a
 * millisecond apart (so every cleanup batch deletes exactly CLEANUP_BATCH_SIZE of them), written
 * by one INSERT ... SELECT. Answers the conversation id.
 */
export async function seedExpiredConversation(db: DrillDb, messages: number, ageDays = 60, endAt?: Date): Promise<string> {
  // endAt: the messages end just before it instead, a microsecond apart on PostgreSQL (there, inside
  // the cutoff's own day, which a cleanup deletes in batches rather than dropping it whole).
  const step = endAt && db.kind === 'postgres' ? 'microsecond' : 'millisecond';
  const span = step === 'microsecond' ? Math.ceil(messages / 1000) : messages;
  const old = endAt ? new Date(endAt.getTime() - span - 1) : new Date(Date.now() - ageDays * DAY_MS);
  const older = new Date(old.getTime() - DAY_MS);
  const { childId } = await seedFamily(db, `drill-expired-${randomUUID().slice(0, 8)}@example.com`, older);
  const conversation = await seedConversation(db, childId, older);
  if (db.kind === 'postgres') {
    await db.run('SELECT ensure_message_partitions($1, $2)', [old, new Date(old.getTime() + span)]);
    await db.run(
      `INSERT INTO message (id, conversation_id, role, text, created_at)
       SELECT lpad(to_hex(g), 32, '0')::uuid, $1, CASE WHEN g % 2 = 0 THEN 'child' ELSE 'teddy' END, 'expired', $2::timestamptz + g * interval '1 ${step}'
         FROM generate_series(1, $3::int) g`,
      [conversation, old, messages],
    );
    await db.run('ANALYZE message');
  } else {
    const insert = db.sqlite!.prepare('INSERT INTO message (id, conversation_id, role, text, created_at) VALUES (?, ?, ?, ?, ?)');
    db.sqlite!.transaction(() => {
      for (let g = 1; g <= messages; g++)
        insert.run(seqUuid(g, 1), conversation, g % 2 ? 'teddy' : 'child', 'expired', sqliteTs(new Date(old.getTime() + g)));
    })();
  }
  return conversation;
}

export interface BigPopulation {
  total: number;
  expired: number;
  conversations: number;
  /** Conversations whose messages are all expired: the cleanup deletes them too. */
  expiredConversations: number;
}

/**
 * `total` messages in conversations of `perConversation`, the first `expired` of them created
 * 60 days ago (a millisecond apart), the rest 10 days ago. Every conversation started 61 days ago,
 * so those holding only expired messages go with the cleanup and the others stay. PostgreSQL:
 * set-based INSERT ... SELECT generate_series; SQLite: prepared inserts in one better-sqlite3
 * transaction.
 */
export async function seedBigPopulation(db: DrillDb, total: number, expired: number, perConversation = 1000): Promise<BigPopulation> {
  const now = Date.now();
  const old = new Date(now - 60 * DAY_MS);
  const young = new Date(now - 10 * DAY_MS);
  const started = new Date(now - 61 * DAY_MS);
  const conversations = Math.ceil(total / perConversation);
  const { childId } = await seedFamily(db, `drill-big-${randomUUID().slice(0, 8)}@example.com`, started);
  if (db.kind === 'postgres') {
    await db.run(
      `INSERT INTO conversation (id, child_id, started_at, created_at)
       SELECT lpad(to_hex(c), 32, '0')::uuid, $1, $2, $2 FROM generate_series(1, $3::int) c`,
      [childId, started, conversations],
    );
    await db.run('SELECT ensure_message_partitions($1, $2)', [old, new Date(old.getTime() + total)]);
    await db.run('SELECT ensure_message_partitions($1, $2)', [young, new Date(young.getTime() + total)]);
    await db.run(
      `INSERT INTO message (id, conversation_id, role, text, created_at)
       SELECT lpad(to_hex(g), 32, '0')::uuid, lpad(to_hex((g - 1) / $1::int + 1), 32, '0')::uuid,
              CASE WHEN g % 2 = 0 THEN 'child' ELSE 'teddy' END,
              CASE WHEN g <= $2::int THEN 'expired' ELSE 'kept' END,
              CASE WHEN g <= $2::int THEN $3::timestamptz + g * interval '1 millisecond' ELSE $4::timestamptz + g * interval '1 millisecond' END
         FROM generate_series(1, $5::int) g`,
      [perConversation, expired, old, young, total],
    );
    await db.run('VACUUM ANALYZE message');
    await db.run('VACUUM ANALYZE conversation');
  } else {
    const sqlite = db.sqlite!;
    const conv = sqlite.prepare('INSERT INTO conversation (id, child_id, started_at, created_at) VALUES (?, ?, ?, ?)');
    const msg = sqlite.prepare('INSERT INTO message (id, conversation_id, role, text, created_at) VALUES (?, ?, ?, ?, ?)');
    const startedText = sqliteTs(started);
    sqlite.transaction(() => {
      for (let c = 1; c <= conversations; c++) conv.run(seqUuid(c, 2), childId, startedText, startedText);
      for (let g = 1; g <= total; g++) {
        const isOld = g <= expired;
        msg.run(
          seqUuid(g, 3),
          seqUuid(Math.floor((g - 1) / perConversation) + 1, 2),
          g % 2 ? 'teddy' : 'child',
          isOld ? 'expired' : 'kept',
          sqliteTs(new Date((isOld ? old : young).getTime() + g)),
        );
      }
    })();
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    sqlite.prepare('ANALYZE').run();
  }
  const expiredConversations = Math.floor(expired / perConversation);
  return { total, expired, conversations, expiredConversations };
}

/**
 * `guardians` families (alternately en and ar), each with a child, one conversation and
 * `messagesEach` messages created at `createdAt`, in one transaction. Answers the guardian ids.
 */
export async function seedNoticePopulation(db: DrillDb, guardians: number, createdAt: Date, messagesEach = 3): Promise<string[]> {
  const ids: string[] = [];
  const rows = Array.from({ length: guardians }, (_, i) => ({
    guardianId: randomUUID(),
    childId: randomUUID(),
    conversationId: randomUUID(),
    email: `drill-parent-${i}-${randomUUID().slice(0, 6)}@example.com`,
    locale: i % 2 ? 'ar' : 'en',
  }));
  if (db.kind === 'sqlite') {
    const sqlite = db.sqlite!;
    const g = sqlite.prepare(
      'INSERT INTO guardian (id, email, display_name, locale, notifications_enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)',
    );
    const c = sqlite.prepare('INSERT INTO child (id, guardian_id, display_name, created_at) VALUES (?, ?, ?, ?)');
    const v = sqlite.prepare('INSERT INTO conversation (id, child_id, started_at, created_at) VALUES (?, ?, ?, ?)');
    const m = sqlite.prepare('INSERT INTO message (id, conversation_id, role, text, created_at) VALUES (?, ?, ?, ?, ?)');
    const at = sqliteTs(createdAt);
    sqlite.transaction(() => {
      for (const [i, r] of rows.entries()) {
        g.run(r.guardianId, r.email, `Parent ${i}`, r.locale, at);
        c.run(r.childId, r.guardianId, `Kid ${i}`, at);
        v.run(r.conversationId, r.childId, at, at);
        for (let k = 0; k < messagesEach; k++)
          m.run(randomUUID(), r.conversationId, k % 2 ? 'teddy' : 'child', `words ${k}`, sqliteTs(new Date(createdAt.getTime() + k)));
      }
    })();
  } else {
    await db.run('BEGIN');
    try {
      for (const [i, r] of rows.entries()) {
        await db.run(
          `INSERT INTO guardian (id, email, display_name, locale, notifications_enabled, created_at) VALUES ($1, $2, $3, $4, true, $5)`,
          [r.guardianId, r.email, `Parent ${i}`, r.locale, createdAt],
        );
        await db.run('INSERT INTO child (id, guardian_id, display_name, created_at) VALUES ($1, $2, $3, $4)', [
          r.childId,
          r.guardianId,
          `Kid ${i}`,
          createdAt,
        ]);
        await db.run('INSERT INTO conversation (id, child_id, started_at, created_at) VALUES ($1, $2, $3, $3)', [
          r.conversationId,
          r.childId,
          createdAt,
        ]);
        await db.run('SELECT ensure_message_partitions($1, $2)', [createdAt, new Date(new Date(createdAt).getTime() + messagesEach)]);
        await db.run(
          `INSERT INTO message (id, conversation_id, role, text, created_at)
           SELECT gen_random_uuid(), $1, CASE WHEN k % 2 = 0 THEN 'child' ELSE 'teddy' END, 'words ' || k, $2::timestamptz + k * interval '1 millisecond'
             FROM generate_series(0, $3::int - 1) k`,
          [r.conversationId, createdAt, messagesEach],
        );
      }
      await db.run('COMMIT');
    } catch (error) {
      await db.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
  for (const r of rows) ids.push(r.guardianId);
  return ids;
}

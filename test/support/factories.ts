import { DataSource } from 'typeorm';
import { TestApp } from './app';

let seq = 0;

export interface Family {
  guardianId: string;
  childId: string;
  conversationId: string;
}

/** A guardian with one child and one conversation, through the ingest API. */
export async function newFamily(
  t: TestApp,
  options: { retentionDays?: number; locale?: 'en' | 'ar'; notificationsEnabled?: boolean; startedAt?: string } = {},
): Promise<Family> {
  seq += 1;
  const guardian = await t.http
    .post('/v1/guardians')
    .set(t.as('ingest'))
    .send({
      email: `parent${seq}.${process.pid}@example.com`,
      displayName: `Parent ${seq}`,
      locale: options.locale,
      retentionDays: options.retentionDays,
      notificationsEnabled: options.notificationsEnabled,
    })
    .expect(201);
  const child = await t.http
    .post(`/v1/guardians/${guardian.body.id}/children`)
    .set(t.as('ingest'))
    .send({ displayName: `Child ${seq}` })
    .expect(201);
  const conversationId = await newConversation(t, child.body.id, options.startedAt);
  return { guardianId: guardian.body.id, childId: child.body.id, conversationId };
}

export async function newConversation(t: TestApp, childId: string, startedAt?: string): Promise<string> {
  const res = await t.http
    .post(`/v1/children/${childId}/conversations`)
    .set(t.as('ingest'))
    .send(startedAt ? { startedAt } : {})
    .expect(201);
  return res.body.id;
}

/** Appends messages created at the given times (ISO strings), 1000 per request. */
export async function addMessages(t: TestApp, conversationId: string, createdAt: string[]): Promise<void> {
  for (let i = 0; i < createdAt.length; i += 1000) {
    const messages = createdAt
      .slice(i, i + 1000)
      .map((at, j) => ({ role: j % 2 ? 'teddy' : 'child', text: `message ${i + j}`, createdAt: at }));
    await t.http.post(`/v1/conversations/${conversationId}/messages`).set(t.as('ingest')).send({ messages }).expect(201);
  }
}

export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * PostgreSQL: creates the message partitions for the UTC days from `from` to `to` (default: that
 * day), for a test that writes messages by SQL, past the service's own insert path. No-op on SQLite.
 */
export async function ensurePartitions(ds: DataSource, from: Date, to: Date = from): Promise<void> {
  if (ds.options.type === 'postgres') await ds.query('SELECT ensure_message_partitions($1, $2)', [from, to]);
}

export async function countRows(t: TestApp, table: 'message' | 'conversation' | 'child' | 'guardian' | 'cleanup_report'): Promise<number> {
  const [{ n }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(n);
}

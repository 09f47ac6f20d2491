import { FixedClock } from '../src/common/clock';
import { startApp, TestApp } from './support/app';

describe('records ingest API', () => {
  const clock = new FixedClock(new Date('2026-11-28T12:00:00.000Z'));
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ clock });
  });
  afterAll(() => t.close());

  async function family(email = `p${Math.random().toString(36).slice(2)}@example.com`) {
    const guardian = await t.http.post('/v1/guardians').set(t.as('ingest')).send({ email, displayName: 'Layla', locale: 'ar' }).expect(201);
    const child = await t.http
      .post(`/v1/guardians/${guardian.body.id}/children`)
      .set(t.as('ingest'))
      .send({ displayName: 'Omar' })
      .expect(201);
    const conversation = await t.http.post(`/v1/children/${child.body.id}/conversations`).set(t.as('ingest')).send({}).expect(201);
    return { guardian: guardian.body, child: child.body, conversation: conversation.body };
  }

  it('creates a guardian, child and conversation with the defaults filled in', async () => {
    const { guardian, child, conversation } = await family('Layla.Hassan@Example.com');
    expect(guardian).toMatchObject({
      email: 'layla.hassan@example.com',
      displayName: 'Layla',
      locale: 'ar',
      retentionDays: null,
      notificationsEnabled: true,
      createdAt: '2026-11-28T12:00:00.000Z',
    });
    expect(guardian.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(child).toMatchObject({ guardianId: guardian.id, displayName: 'Omar' });
    expect(conversation).toMatchObject({ childId: child.id, startedAt: '2026-11-28T12:00:00.000Z' });
  });

  it('refuses a second guardian with the same e-mail (any case) with 409', async () => {
    await family('dup@example.com');
    const res = await t.http.post('/v1/guardians').set(t.as('ingest')).send({ email: 'DUP@example.com', displayName: 'X' }).expect(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: expect.stringContaining('email') });
  });

  it('accepts a shorter retention and refuses one longer than RETENTION_DAYS', async () => {
    const ok = await t.http
      .post('/v1/guardians')
      .set(t.as('ingest'))
      .send({ email: 'short@example.com', displayName: 'S', retentionDays: 7 })
      .expect(201);
    expect(ok.body.retentionDays).toBe(7);
    const res = await t.http
      .post('/v1/guardians')
      .set(t.as('ingest'))
      .send({ email: 'long@example.com', displayName: 'L', retentionDays: 31 })
      .expect(400);
    expect(res.body.message).toContain('retentionDays');
  });

  it('appends one message, and a backdated batch in one call', async () => {
    const { conversation } = await family();
    const one = await t.http
      .post(`/v1/conversations/${conversation.id}/messages`)
      .set(t.as('ingest'))
      .send({ role: 'child', text: 'Hello Teddy' })
      .expect(201);
    expect(one.body).toMatchObject({
      conversationId: conversation.id,
      role: 'child',
      text: 'Hello Teddy',
      createdAt: '2026-11-28T12:00:00.000Z',
    });

    const batch = await t.http
      .post(`/v1/conversations/${conversation.id}/messages`)
      .set(t.as('ingest'))
      .send({
        messages: [
          { role: 'child', text: 'imported one', createdAt: '2026-09-01T08:00:00Z' },
          { role: 'teddy', text: 'imported two', createdAt: '2026-09-01T10:00:00.123+02:00' },
        ],
      })
      .expect(201);
    expect(batch.body.count).toBe(2);
    expect(batch.body.items.map((m: { createdAt: string }) => m.createdAt)).toEqual([
      '2026-09-01T08:00:00.000Z',
      '2026-09-01T08:00:00.123Z',
    ]);

    const page = await t.http.get(`/v1/conversations/${conversation.id}/messages`).set(t.as('ingest')).expect(200);
    expect(page.body.items.map((m: { text: string }) => m.text)).toEqual(['imported one', 'imported two', 'Hello Teddy']);
    expect(page.body.nextCursor).toBeNull();
  });

  it('refuses a message dated in the future, even 1 ms ahead, and writes none of its batch', async () => {
    const { conversation } = await family();
    const res = await t.http
      .post(`/v1/conversations/${conversation.id}/messages`)
      .set(t.as('ingest'))
      .send({
        messages: [
          { role: 'child', text: 'fine', createdAt: '2026-11-28T11:00:00Z' },
          { role: 'teddy', text: 'from the future', createdAt: '2026-11-28T12:00:00.001Z' },
        ],
      })
      .expect(400);
    expect(res.body.message).toContain('messages.1.createdAt must not be in the future');
    const page = await t.http.get(`/v1/conversations/${conversation.id}/messages`).set(t.as('ingest')).expect(200);
    expect(page.body.items).toEqual([]);
  });

  it('accepts a message dated exactly now', async () => {
    const { conversation } = await family();
    await t.http
      .post(`/v1/conversations/${conversation.id}/messages`)
      .set(t.as('ingest'))
      .send({ role: 'teddy', text: 'now', createdAt: '2026-11-28T12:00:00.000Z' })
      .expect(201);
  });

  it('writes a batch of 1000 in one call and pages through it without gaps or repeats', async () => {
    const { conversation } = await family();
    const base = Date.parse('2026-11-20T00:00:00Z');
    // Pairs of messages share a timestamp, so the id tie-break of the cursor is exercised.
    const messages = Array.from({ length: 1000 }, (_, i) => ({
      role: i % 2 ? 'teddy' : 'child',
      text: `m${i}`,
      createdAt: new Date(base + Math.floor(i / 2) * 1000).toISOString(),
    }));
    await t.http.post(`/v1/conversations/${conversation.id}/messages`).set(t.as('ingest')).send({ messages }).expect(201);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: { text: string }[]; nextCursor: string | null } } = await t.http
        .get(`/v1/conversations/${conversation.id}/messages`)
        .query(cursor ? { limit: 200, cursor } : { limit: 200 })
        .set(t.as('ingest'))
        .expect(200);
      seen.push(...res.body.items.map((m) => m.text));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(1000);
    expect(seen.length).toBe(1000);
  });

  it('lists a child’s conversations newest first, paged', async () => {
    const { child } = await family();
    for (const startedAt of ['2026-11-01T00:00:00Z', '2026-11-03T00:00:00Z', '2026-11-02T00:00:00Z']) {
      await t.http.post(`/v1/children/${child.id}/conversations`).set(t.as('ingest')).send({ startedAt }).expect(201);
    }
    const first = await t.http.get(`/v1/children/${child.id}/conversations?limit=2`).set(t.as('ingest')).expect(200);
    // The family() conversation started "now" (2026-11-28) and comes first.
    expect(first.body.items.map((c: { startedAt: string }) => c.startedAt)).toEqual([
      '2026-11-28T12:00:00.000Z',
      '2026-11-03T00:00:00.000Z',
    ]);
    const second = await t.http
      .get(`/v1/children/${child.id}/conversations`)
      .query({ limit: 2, cursor: first.body.nextCursor })
      .set(t.as('ingest'))
      .expect(200);
    expect(second.body.items.map((c: { startedAt: string }) => c.startedAt)).toEqual([
      '2026-11-02T00:00:00.000Z',
      '2026-11-01T00:00:00.000Z',
    ]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('answers 404 naming the missing parent', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const res = await t.http.post(`/v1/guardians/${missing}/children`).set(t.as('ingest')).send({ displayName: 'A' }).expect(404);
    expect(res.body).toMatchObject({ statusCode: 404, message: `guardian ${missing} not found` });
    await t.http.post(`/v1/children/${missing}/conversations`).set(t.as('ingest')).send({}).expect(404);
    await t.http.post(`/v1/conversations/${missing}/messages`).set(t.as('ingest')).send({ role: 'child', text: 'x' }).expect(404);
    await t.http.get(`/v1/children/${missing}/conversations`).set(t.as('ingest')).expect(404);
    await t.http.get(`/v1/conversations/${missing}/messages`).set(t.as('ingest')).expect(404);
    await t.http.delete(`/v1/guardians/${missing}`).set(t.as('ingest')).expect(404);
  });

  it('erases a family at once and answers with exact counts, leaving other families alone', async () => {
    const a = await family();
    const b = await family();
    const secondChild = await t.http
      .post(`/v1/guardians/${a.guardian.id}/children`)
      .set(t.as('ingest'))
      .send({ displayName: 'Sara' })
      .expect(201);
    const secondConv = await t.http.post(`/v1/children/${secondChild.body.id}/conversations`).set(t.as('ingest')).send({}).expect(201);
    const msgs = (n: number) => ({ messages: Array.from({ length: n }, (_, i) => ({ role: 'child', text: `t${i}` })) });
    await t.http.post(`/v1/conversations/${a.conversation.id}/messages`).set(t.as('ingest')).send(msgs(3)).expect(201);
    await t.http.post(`/v1/conversations/${secondConv.body.id}/messages`).set(t.as('ingest')).send(msgs(4)).expect(201);
    await t.http.post(`/v1/conversations/${b.conversation.id}/messages`).set(t.as('ingest')).send(msgs(5)).expect(201);

    const res = await t.http.delete(`/v1/guardians/${a.guardian.id}`).set(t.as('ingest')).expect(200);
    expect(res.body).toEqual({
      guardianId: a.guardian.id,
      erasedAt: '2026-11-28T12:00:00.000Z',
      erased: { guardians: 1, children: 2, conversations: 2, messages: 7 },
    });
    await t.http.get(`/v1/conversations/${a.conversation.id}/messages`).set(t.as('ingest')).expect(404);
    await t.http.get(`/v1/children/${secondChild.body.id}/conversations`).set(t.as('ingest')).expect(404);
    await t.http.delete(`/v1/guardians/${a.guardian.id}`).set(t.as('ingest')).expect(404);
    const other = await t.http.get(`/v1/conversations/${b.conversation.id}/messages`).set(t.as('ingest')).expect(200);
    expect(other.body.items).toHaveLength(5);
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM message');
    expect(Number(n)).toBeGreaterThanOrEqual(5);
    const [{ orphans }] = await t.dataSource.query(`SELECT COUNT(*) AS orphans FROM child WHERE guardian_id = '${a.guardian.id}'`);
    expect(Number(orphans)).toBe(0);
  });
});

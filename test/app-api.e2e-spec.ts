import { randomUUID } from 'node:crypto';
import { FixedClock } from '../src/common/clock';
import { CleanupService } from '../src/cleanup/cleanup.service';
import { NoticeService } from '../src/notifications/notice.service';
import { JobCatalogue } from '../src/scheduler/job-catalogue';
import { startApp, TestApp } from './support/app';
import { scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';

/**
 * The app's API as an integrator meets it: creates that a retry cannot repeat (a client id), the
 * reads and the settings update of a guardian, on the suite's database.
 */
const NOW = '2026-11-28T12:00:00.000Z';
const DAY = 86_400_000;

let emails = 0;
const email = () => `parent${++emails}.${process.pid}@example.com`;

async function count(t: TestApp, sql: string, params: unknown[]): Promise<number> {
  const p = (i: number) => (TEST_DB === 'postgres' ? `$${i}` : '?');
  const [{ n }] = await t.dataSource.query(
    sql.replace(/\$(\d)/g, (_m, i) => p(Number(i))),
    params,
  );
  return Number(n);
}

describe(`the app's API on ${TEST_DB}`, () => {
  const clock = new FixedClock(new Date(NOW));
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ clock });
  });
  afterAll(() => t.close());
  afterEach(() => clock.set(NOW));

  const post = (path: string, body: object) => t.http.post(path).set(t.as('ingest')).send(body);

  async function family() {
    const guardian = (await post('/v1/guardians', { email: email(), displayName: 'Layla' }).expect(201)).body;
    const child = (await post(`/v1/guardians/${guardian.id}/children`, { displayName: 'Omar' }).expect(201)).body;
    const conversation = (await post(`/v1/children/${child.id}/conversations`, {}).expect(201)).body;
    return { guardian, child, conversation };
  }

  describe('a create sent again with the same client id', () => {
    it('registers a guardian once: 201, then 200 with the stored guardian; other content is a 409 naming it', async () => {
      const id = randomUUID().toUpperCase();
      const body = { id, email: email(), displayName: 'Layla', retentionDays: 14 };
      const first = await post('/v1/guardians', body).expect(201);
      expect(first.body).toMatchObject({ id: id.toLowerCase(), retentionDays: 14, createdAt: NOW });
      clock.advance(60_000);
      const again = await post('/v1/guardians', { ...body, id: id.toLowerCase() }).expect(200);
      expect(again.body).toEqual(first.body);
      const other = await post('/v1/guardians', { ...body, displayName: 'Huda', retentionDays: 7 }).expect(409);
      expect(other.body.message).toBe(
        `guardian ${id.toLowerCase()} is already stored with a different displayName, retentionDays; a retry must send the same content`,
      );
      // The same e-mail under another id is another guardian: the 409 says how to find the first.
      const taken = await post('/v1/guardians', { ...body, id: randomUUID() }).expect(409);
      expect(taken.body.message).toContain('GET /v1/guardians?email=');
      expect(await count(t, 'SELECT COUNT(*) AS n FROM guardian WHERE email = $1', [body.email])).toBe(1);
    });

    it('adds a child once, and refuses its id under another guardian', async () => {
      const { guardian } = await family();
      const id = randomUUID();
      const first = await post(`/v1/guardians/${guardian.id}/children`, { id, displayName: 'Lina' }).expect(201);
      const again = await post(`/v1/guardians/${guardian.id}/children`, { id, displayName: 'Lina' }).expect(200);
      expect(again.body).toEqual(first.body);
      const elsewhere = (await family()).guardian;
      const res = await post(`/v1/guardians/${elsewhere.id}/children`, { id, displayName: 'Lina' }).expect(409);
      expect(res.body.message).toContain('a different guardianId');
      expect(await count(t, 'SELECT COUNT(*) AS n FROM child WHERE id = $1', [id])).toBe(1);
    });

    it('starts a conversation once; a startedAt left out is not compared, one sent is', async () => {
      const { child } = await family();
      const id = randomUUID();
      const first = await post(`/v1/children/${child.id}/conversations`, { id }).expect(201);
      clock.advance(5_000);
      const again = await post(`/v1/children/${child.id}/conversations`, { id }).expect(200);
      expect(again.body).toEqual(first.body);
      expect(again.body.startedAt).toBe(NOW);
      const res = await post(`/v1/children/${child.id}/conversations`, { id, startedAt: '2026-11-01T00:00:00Z' }).expect(409);
      expect(res.body.message).toContain('a different startedAt');
    });

    it('appends a message once; other text, or the id in another conversation, is a 409 naming the field', async () => {
      const { conversation } = await family();
      const id = randomUUID();
      const path = `/v1/conversations/${conversation.id}/messages`;
      const first = await post(path, { id, role: 'child', text: 'Hello Teddy' }).expect(201);
      expect(first.body).toMatchObject({ id, text: 'Hello Teddy', createdAt: NOW });
      clock.advance(30_000);
      const again = await post(path, { id, role: 'child', text: 'Hello Teddy' }).expect(200);
      expect(again.body).toEqual(first.body);
      expect((await post(path, { id, role: 'child', text: 'Hello Ted' }).expect(409)).body.message).toBe(
        `message ${id} is already stored with a different text; a retry must send the same content`,
      );
      const other = (await family()).conversation;
      const moved = await post(`/v1/conversations/${other.id}/messages`, { id, role: 'child', text: 'Hello Teddy' }).expect(409);
      expect(moved.body.message).toContain('a different conversationId');
      expect(await count(t, 'SELECT COUNT(*) AS n FROM message WHERE id = $1', [id])).toBe(1);
    });

    it('stores only the new items of a batch, and says which were new', async () => {
      const { conversation } = await family();
      const path = `/v1/conversations/${conversation.id}/messages`;
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      const sent = [
        { id: a, role: 'child', text: 'one', createdAt: '2026-11-27T10:00:00Z' },
        { id: b, role: 'teddy', text: 'two', createdAt: '2026-11-27T10:00:01Z' },
      ];
      const first = await post(path, { messages: sent }).expect(201);
      expect(first.body).toMatchObject({ count: 2, createdCount: 2 });
      expect(first.body.items.map((i: { created: boolean }) => i.created)).toEqual([true, true]);

      // A retry that lost the first answer, with more said since: one new with an id, one without.
      const more = [...sent, { id: c, role: 'child', text: 'three' }, { role: 'teddy', text: 'four' }];
      const second = await post(path, { messages: more }).expect(201);
      expect(second.body).toMatchObject({ count: 4, createdCount: 2 });
      expect(second.body.items.map((i: { id: string; created: boolean }) => [i.id, i.created])).toEqual([
        [a, false],
        [b, false],
        [c, true],
        [expect.any(String), true],
      ]);
      expect(second.body.items[0]).toEqual(first.body.items[0] && { ...first.body.items[0], created: false });

      // Everything already stored: 200, nothing new.
      const third = await post(path, { messages: sent }).expect(200);
      expect(third.body).toMatchObject({ count: 2, createdCount: 0 });
      expect(await count(t, 'SELECT COUNT(*) AS n FROM message WHERE conversation_id = $1', [conversation.id])).toBe(4);

      // One item stored with other content: the whole batch is refused, the new item in it too.
      const d = randomUUID();
      const clash = await post(path, {
        messages: [
          { id: d, role: 'child', text: 'five' },
          { ...sent[1], text: 'TWO' },
        ],
      }).expect(409);
      expect(clash.body.message).toBe(
        `messages.1: message ${b} is already stored with a different text; a retry must send the same content`,
      );
      expect(await count(t, 'SELECT COUNT(*) AS n FROM message WHERE conversation_id = $1', [conversation.id])).toBe(4);

      // The same id twice in one batch says where.
      const twice = await post(path, {
        messages: [sent[0], { id: d, role: 'child', text: 'x' }, { id: d, role: 'child', text: 'x' }],
      }).expect(400);
      expect(twice.body.message).toBe(`messages.2.id repeats messages.1.id (${d})`);
    });

    it('refuses an id that is not a UUID, naming the field', async () => {
      const { guardian, conversation } = await family();
      expect((await post('/v1/guardians', { id: 'abc', email: email(), displayName: 'X' }).expect(400)).body.message).toContain(
        'id must be a UUID',
      );
      expect((await post(`/v1/guardians/${guardian.id}/children`, { id: 42, displayName: 'X' }).expect(400)).body.message).toContain(
        'id must be a UUID',
      );
      const res = await post(`/v1/conversations/${conversation.id}/messages`, { messages: [{ id: 'nope', role: 'child', text: 'x' }] });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('messages.0.id must be a UUID');
      const mixed = await post(`/v1/conversations/${conversation.id}/messages`, {
        id: randomUUID(),
        messages: [{ role: 'child', text: 'x' }],
      });
      expect(mixed.status).toBe(400);
      expect(mixed.body.message).toContain('messages cannot be combined with id');
    });
  });

  describe('guardians: read, look up, change, list children', () => {
    it('reads a guardian by id and by e-mail (any case), with 404 and 400 answers', async () => {
      const { guardian } = await family();
      const read = await t.http.get(`/v1/guardians/${guardian.id}`).set(t.as('ingest')).expect(200);
      expect(read.body).toEqual(guardian);
      expect(read.headers.etag).toBeUndefined();
      const found = await t.http
        .get('/v1/guardians')
        .query({ email: ` ${guardian.email.toUpperCase()} ` })
        .set(t.as('ingest'))
        .expect(200);
      expect(found.body).toEqual(guardian);
      const none = await t.http.get('/v1/guardians').query({ email: 'nobody@example.com' }).set(t.as('ingest')).expect(404);
      expect(none.body.message).toBe('no guardian is registered with this email');
      expect((await t.http.get('/v1/guardians').set(t.as('ingest')).expect(400)).body.message).toContain('email must be an e-mail address');
      await t.http.get(`/v1/guardians/${randomUUID()}`).set(t.as('ingest')).expect(404);
      expect((await t.http.get('/v1/guardians/nope').set(t.as('ingest')).expect(400)).body.message).toBe('guardianId must be a UUID');
    });

    it("lists a guardian's children oldest first, paged", async () => {
      const { guardian, child } = await family();
      const names = ['Lina', 'Sami', 'Yara'];
      for (const displayName of names) {
        clock.advance(1_000);
        await post(`/v1/guardians/${guardian.id}/children`, { displayName }).expect(201);
      }
      const page1 = await t.http.get(`/v1/guardians/${guardian.id}/children?limit=2`).set(t.as('ingest')).expect(200);
      expect(page1.body.items.map((c: { displayName: string }) => c.displayName)).toEqual(['Omar', 'Lina']);
      expect(page1.body.items[0]).toEqual(child);
      const page2 = await t.http
        .get(`/v1/guardians/${guardian.id}/children`)
        .query({ limit: 2, cursor: page1.body.nextCursor })
        .set(t.as('ingest'))
        .expect(200);
      expect(page2.body).toEqual({
        items: [expect.objectContaining({ displayName: 'Sami' }), expect.objectContaining({ displayName: 'Yara' })],
        nextCursor: null,
      });
      await t.http.get(`/v1/guardians/${randomUUID()}/children`).set(t.as('ingest')).expect(404);
    });

    it('changes settings, audited without the name; refuses what cannot be changed with a 400 naming it', async () => {
      const { guardian } = await family();
      const patch = (body: object) =>
        t.http.patch(`/v1/guardians/${guardian.id}`).set(t.as('ingest')).set('X-Request-Id', 'patch-1').send(body);
      const res = await patch({ displayName: ' Layla H. ', locale: 'ar', retentionDays: 7, notificationsEnabled: false }).expect(200);
      expect(res.body).toEqual({ ...guardian, displayName: 'Layla H.', locale: 'ar', retentionDays: 7, notificationsEnabled: false });
      expect((await t.http.get(`/v1/guardians/${guardian.id}`).set(t.as('ingest')).expect(200)).body).toEqual(res.body);
      clock.advance(1_000);
      expect((await patch({ retentionDays: null }).expect(200)).body.retentionDays).toBeNull();

      const audit = await t.http
        .get('/admin/audit')
        .query({ target: `guardian:${guardian.id}` })
        .set(t.as('viewer'))
        .expect(200);
      expect(audit.body.items.map((e: object) => e)).toEqual([
        expect.objectContaining({
          actor: 'ingest',
          action: 'guardian.update',
          before: { retentionDays: 7 },
          after: { retentionDays: null },
        }),
        expect.objectContaining({
          actor: 'ingest',
          action: 'guardian.update',
          requestId: 'patch-1',
          before: { displayName: '(changed)', locale: 'en', retentionDays: null, notificationsEnabled: true },
          after: { displayName: '(changed)', locale: 'ar', retentionDays: 7, notificationsEnabled: false },
        }),
      ]);
      expect(JSON.stringify(audit.body)).not.toContain('Layla');
      // The same values again change nothing and add no entry.
      await patch({ locale: 'ar' }).expect(200);
      expect(
        (
          await t.http
            .get('/admin/audit')
            .query({ target: `guardian:${guardian.id}` })
            .set(t.as('viewer'))
        ).body.items,
      ).toHaveLength(2);
      // A time zone of their own (the dates of their notices), and back to the service's.
      clock.advance(1_000);
      expect((await patch({ timezone: 'Asia/Riyadh' }).expect(200)).body.timezone).toBe('Asia/Riyadh');
      const zoned = await t.http
        .get('/admin/audit')
        .query({ target: `guardian:${guardian.id}`, limit: 1 })
        .set(t.as('viewer'));
      expect(zoned.body.items[0]).toMatchObject({ before: { timezone: null }, after: { timezone: 'Asia/Riyadh' } });
      expect((await patch({ timezone: null }).expect(200)).body.timezone).toBeNull();
      // How often they are told: a weekly digest by default, or a notice before each deletion.
      expect((await t.http.get(`/v1/guardians/${guardian.id}`).set(t.as('ingest'))).body.noticeFrequency).toBe('digest');
      clock.advance(1_000);
      expect((await patch({ noticeFrequency: 'each_run' }).expect(200)).body.noticeFrequency).toBe('each_run');
      const often = await t.http
        .get('/admin/audit')
        .query({ target: `guardian:${guardian.id}`, limit: 1 })
        .set(t.as('viewer'));
      expect(often.body.items[0]).toMatchObject({ before: { noticeFrequency: 'digest' }, after: { noticeFrequency: 'each_run' } });

      const refused: [object, string][] = [
        [{}, 'send at least one of displayName, locale, retentionDays, notificationsEnabled, noticeFrequency, timezone'],
        [{ retentionDays: 31 }, 'retentionDays must not be greater than 30 (RETENTION_DAYS)'],
        [{ retentionDays: 0 }, 'retentionDays must not be less than 1'],
        [{ locale: null }, 'locale must be one of the following values: en, ar'],
        [{ displayName: null }, 'displayName must be a string'],
        [{ notificationsEnabled: 'yes' }, 'notificationsEnabled must be a boolean value'],
        [{ timezone: 'Mars/Olympus_Mons' }, 'timezone is not a known IANA time zone'],
        [{ noticeFrequency: 'hourly' }, 'noticeFrequency must be one of the following values: digest, each_run'],
        [{ noticeFrequency: null }, 'noticeFrequency must be one of the following values: digest, each_run'],
        [{ email: 'new@example.com' }, 'property email should not exist'],
      ];
      for (const [body, message] of refused) expect((await patch(body).expect(400)).body.message).toContain(message);
      // Registration holds null to the same rule: null is not "left out".
      expect((await post('/v1/guardians', { email: email(), displayName: 'N', locale: null }).expect(400)).body.message).toContain(
        'locale',
      );
      await t.http.patch(`/v1/guardians/${randomUUID()}`).set(t.as('ingest')).send({ locale: 'en' }).expect(404);
      expect((await t.http.get(`/v1/guardians/${guardian.id}`).set(t.as('ingest'))).body.retentionDays).toBeNull();
    });

    it('answers only the ingest key: 401 without a key, 403 for the admin roles', async () => {
      const { guardian } = await family();
      const routes: [string, string, object?][] = [
        ['get', `/v1/guardians/${guardian.id}`],
        ['get', `/v1/guardians?email=${encodeURIComponent(guardian.email)}`],
        ['get', `/v1/guardians/${guardian.id}/children`],
        ['patch', `/v1/guardians/${guardian.id}`, { locale: 'en' }],
      ];
      for (const [method, path, body] of routes) {
        const call = () => (t.http as unknown as Record<string, (p: string) => import('supertest').Test>)[method](path).send(body);
        await call().expect(401);
        await call().set(t.as('viewer')).expect(403);
        await call().set(t.as('operator')).expect(403);
        await call().set(t.as('ingest')).expect(200);
      }
    });
  });

  it('applies a shorter retention set by PATCH in the next notice run and the next cleanup', async () => {
    // Messages 10 days old are far from the 30-day default; at 7 days they are due at the next cleanup.
    const { guardian, conversation } = await family();
    const said = new Date(Date.parse(NOW) - 10 * DAY).toISOString();
    await post(`/v1/conversations/${conversation.id}/messages`, { messages: [{ role: 'child', text: 'old', createdAt: said }] }).expect(
      201,
    );
    const noticeAt = new Date('2026-11-28T23:00:00Z');
    const calendars = () => t.app.get(JobCatalogue).calendars();
    const mine = async () => (await t.http.get('/admin/notifications').query({ guardianId: guardian.id }).set(t.as('viewer'))).body.items;

    await t.app.get(NoticeService).enqueue({ now: noticeAt, ...calendars() });
    expect(await mine()).toEqual([]);

    await t.http.patch(`/v1/guardians/${guardian.id}`).set(t.as('ingest')).send({ retentionDays: 7 }).expect(200);
    await t.app.get(NoticeService).enqueue({ now: noticeAt, ...calendars() });
    expect(await mine()).toEqual([
      expect.objectContaining({
        guardianId: guardian.id,
        cleanupAt: '2026-11-29T00:00:00.000Z',
        messages: 1,
        conversations: 1,
        shortNotice: true,
      }),
    ]);

    const report = await t.app.get(CleanupService).run({ at: new Date('2026-11-29T00:00:00Z'), trigger: 'manual', triggeredBy: 'test' });
    expect(report.status).toBe('succeeded');
    expect(await count(t, 'SELECT COUNT(*) AS n FROM message WHERE conversation_id = $1', [conversation.id])).toBe(0);
  });
});

describe(`the same create sent at once on ${TEST_DB}, through two instances on one database`, () => {
  let database: ScratchDatabase;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await scratchDatabase();
    a = await startApp({ database });
    b = await startApp({ database });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  /** Sends `body` 8 times at once, half to each instance: exactly one 201, seven 200s. */
  async function race(path: string, body: object): Promise<Record<string, unknown>[]> {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).http
          .post(path)
          .set(a.as('ingest'))
          .send(body)
          .then((r) => r),
      ),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    for (const r of answers) expect(r.body).toEqual(answers[0].body);
    return answers.map((r) => r.body);
  }

  it('stores one row for each kind of create', async () => {
    const guardianId = randomUUID();
    await race('/v1/guardians', { id: guardianId, email: email(), displayName: 'Layla' });
    const childId = randomUUID();
    await race(`/v1/guardians/${guardianId}/children`, { id: childId, displayName: 'Omar' });
    const conversationId = randomUUID();
    await race(`/v1/children/${childId}/conversations`, { id: conversationId });
    const messageId = randomUUID();
    await race(`/v1/conversations/${conversationId}/messages`, { id: messageId, role: 'child', text: 'Hello' });
    const batch = Array.from({ length: 50 }, (_, i) => ({ id: randomUUID(), role: 'teddy', text: `line ${i}` }));
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).http.post(`/v1/conversations/${conversationId}/messages`).set(a.as('ingest')).send({ messages: batch }),
      ),
    );
    expect(answers.map((r) => r.body.createdCount).sort((x, y) => x - y)).toEqual([0, 0, 0, 0, 0, 0, 0, 50]);

    for (const [table, id] of [
      ['guardian', guardianId],
      ['child', childId],
      ['conversation', conversationId],
      ['message', messageId],
    ]) {
      expect(await count(a, `SELECT COUNT(*) AS n FROM ${table} WHERE id = $1`, [id])).toBe(1);
    }
    expect(await count(a, 'SELECT COUNT(*) AS n FROM message WHERE conversation_id = $1', [conversationId])).toBe(51);
  });
});

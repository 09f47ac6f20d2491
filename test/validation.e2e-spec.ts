import type { Response } from 'supertest';
import { FixedClock } from '../src/common/clock';
import { startApp, TestApp } from './support/app';

/**
 * Bad input: every DTO field answers 400 naming the field, in the one error shape, and writes
 * nothing. Plus HTTP hygiene: malformed and oversized bodies, unknown routes, stack traces,
 * security headers and request ids.
 */

const NOW = '2026-11-28T12:00:00.000Z';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TABLES = ['guardian', 'child', 'conversation', 'message'] as const;

/** Nothing that looks like a stack frame or a source path may reach a client. */
function expectNoStack(res: Response): void {
  const text = res.text ?? '';
  expect(text).not.toMatch(/\bat \S+ \(|\bat \/|\n\s+at /);
  expect(text).not.toMatch(/\.(ts|js):\d+/);
  expect(text).not.toContain('node_modules');
  expect(text).not.toMatch(/"stack"/);
}

/** The one error shape: { statusCode, error, message, details?, requestId? }, and nothing else. */
function expectErrorShape(res: Response, status: number, error: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.body as Record<string, unknown>;
  expect(body).toMatchObject({ statusCode: status, error, message: expect.any(String) });
  expect((body.message as string).length).toBeGreaterThan(0);
  for (const k of Object.keys(body)) expect(['statusCode', 'error', 'message', 'details', 'requestId']).toContain(k);
  if (body.details !== undefined) {
    expect(Array.isArray(body.details)).toBe(true);
    for (const d of body.details as unknown[]) expect(typeof d).toBe('string');
  }
  if (body.requestId !== undefined) expect(body.requestId).toBe(res.headers['x-request-id']);
  expectNoStack(res);
}

/** 400 whose message names `field`; if details are given, one of them names it too. */
function expectBadRequest(res: Response, field: string, text?: string | RegExp): void {
  expectErrorShape(res, 400, 'Bad Request');
  expect(res.body.message).toContain(field);
  if (res.body.details) expect((res.body.details as string[]).some((d) => d.includes(field))).toBe(true);
  if (text instanceof RegExp) expect(res.body.message).toMatch(text);
  else if (text) expect(res.body.message).toContain(text);
}

// Rows may leave trailing optional columns out: the callbacks take a rest parameter, because jest hands a
// `done` callback to a function that declares more parameters than its row has.
describe('validation and HTTP hygiene', () => {
  const clock = new FixedClock(new Date(NOW));
  let t: TestApp;
  let family: { guardianId: string; childId: string; conversationId: string };

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of TABLES) {
      const [{ n }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`);
      out[table] = Number(n);
    }
    return out;
  }

  /** Runs a bad request and checks that not a single row was written by it. */
  async function writesNothing(send: () => PromiseLike<Response>): Promise<Response> {
    const before = await counts();
    const res = await send();
    expect(await counts()).toEqual(before);
    return res;
  }

  const post = (path: string, body: unknown) =>
    writesNothing(() =>
      t.http
        .post(path)
        .set(t.as('ingest'))
        .send(body as object),
    );

  beforeAll(async () => {
    t = await startApp({ clock });
    const ingest = t.as('ingest');
    const g = await t.http.post('/v1/guardians').set(ingest).send({ email: 'valid@example.com', displayName: 'Valid' }).expect(201);
    const c = await t.http.post(`/v1/guardians/${g.body.id}/children`).set(ingest).send({ displayName: 'Kid' }).expect(201);
    const cv = await t.http.post(`/v1/children/${c.body.id}/conversations`).set(ingest).send({}).expect(201);
    family = { guardianId: g.body.id, childId: c.body.id, conversationId: cv.body.id };
  });
  afterAll(() => t.close());

  describe('NUL characters, which PostgreSQL text cannot hold', () => {
    it('refuses them in a message, a batch item and a child name with a 400 naming the field', async () => {
      expectBadRequest(
        await post(`/v1/conversations/${family.conversationId}/messages`, { role: 'child', text: 'a\u0000b' }),
        'text',
        'NUL',
      );
      expectBadRequest(
        await post(`/v1/conversations/${family.conversationId}/messages`, {
          messages: [
            { role: 'child', text: 'ok' },
            { role: 'teddy', text: '\u0000' },
          ],
        }),
        'messages.1.text',
        'NUL',
      );
      expectBadRequest(await post(`/v1/guardians/${family.guardianId}/children`, { displayName: 'K\u0000' }), 'displayName', 'NUL');
    });
  });

  describe('POST /v1/guardians', () => {
    const valid = { email: 'new.parent@example.com', displayName: 'Parent' };
    const cases: Array<[string, Record<string, unknown>, string, (string | RegExp)?]> = [
      ['missing email', { displayName: 'P' }, 'email'],
      ['invalid email', { ...valid, email: 'not-an-email' }, 'email', 'e-mail'],
      ['numeric email', { ...valid, email: 42 }, 'email'],
      ['missing displayName', { email: valid.email }, 'displayName'],
      ['empty displayName', { ...valid, displayName: '' }, 'displayName', 'must not be empty'],
      ['whitespace displayName', { ...valid, displayName: '   ' }, 'displayName', 'must not be empty'],
      ['displayName over 100 chars', { ...valid, displayName: 'x'.repeat(101) }, 'displayName', '100'],
      ['displayName not a string', { ...valid, displayName: ['a'] }, 'displayName'],
      ['locale fr', { ...valid, locale: 'fr' }, 'locale', /en.*ar/],
      ['retentionDays 0', { ...valid, retentionDays: 0 }, 'retentionDays'],
      ['retentionDays -1', { ...valid, retentionDays: -1 }, 'retentionDays'],
      ['retentionDays 1.5', { ...valid, retentionDays: 1.5 }, 'retentionDays', 'integer'],
      ['retentionDays as a string', { ...valid, retentionDays: '7' }, 'retentionDays', 'integer'],
      ['retentionDays over RETENTION_DAYS', { ...valid, retentionDays: 31 }, 'retentionDays', '30'],
      ['notificationsEnabled "yes"', { ...valid, notificationsEnabled: 'yes' }, 'notificationsEnabled', 'boolean'],
      ['an unknown property', { ...valid, isAdmin: true }, 'isAdmin', 'should not exist'],
      ['a NUL character in displayName', { ...valid, displayName: 'Pa\u0000rent' }, 'displayName', 'NUL'],
    ];
    it.each(cases)('%s → 400 naming the field, nothing written', async (...[_label, body, field, text]) => {
      expectBadRequest(await post('/v1/guardians', body), field, text);
    });

    it('accepts the boundaries (displayName of 100, retentionDays 1 and 30) — so the refusals above are not blanket', async () => {
      const ingest = t.as('ingest');
      await t.http
        .post('/v1/guardians')
        .set(ingest)
        .send({ email: 'b100@example.com', displayName: 'x'.repeat(100) })
        .expect(201);
      await t.http
        .post('/v1/guardians')
        .set(ingest)
        .send({ email: 'r1@example.com', displayName: 'R', retentionDays: 1, locale: 'ar' })
        .expect(201);
      await t.http
        .post('/v1/guardians')
        .set(ingest)
        .send({ email: 'r30@example.com', displayName: 'R', retentionDays: 30, notificationsEnabled: false })
        .expect(201);
    });

    it('lists every problem of a body in details', async () => {
      const res = await post('/v1/guardians', { email: 'nope', displayName: '', locale: 'fr' });
      expectBadRequest(res, 'email');
      for (const field of ['email', 'displayName', 'locale']) {
        expect(res.body.message).toContain(field);
        expect((res.body.details as string[]).some((d) => d.startsWith(field))).toBe(true);
      }
    });

    it('refuses a body that is not an object, or not JSON at all, with 400', async () => {
      expectBadRequest(
        await writesNothing(() => t.http.post('/v1/guardians').set(t.as('ingest')).set('Content-Type', 'application/json').send('[]')),
        'body',
        'must be a JSON object',
      );
      const deep = `{"displayName":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      expectBadRequest(
        await writesNothing(() => t.http.post('/v1/guardians').set(t.as('ingest')).set('Content-Type', 'application/json').send(deep)),
        'body',
        'nested more than 32 levels',
      );
      expectBadRequest(
        await writesNothing(() => t.http.post('/v1/guardians').set(t.as('ingest')).set('Content-Type', 'text/plain').send('email=a@b.co')),
        'email',
      );
    });
  });

  describe('POST /v1/guardians/:guardianId/children', () => {
    it.each<[string, Record<string, unknown>, string?]>([
      ['missing', {}],
      ['empty', { displayName: '' }, 'must not be empty'],
      ['whitespace only', { displayName: ' \t  ' }, 'must not be empty'],
      ['over 100 chars', { displayName: 'y'.repeat(101) }, '100'],
      ['a number', { displayName: 7 }],
    ])('displayName %s → 400 naming displayName, nothing written', async (...[_label, body, text]) => {
      expectBadRequest(await post(`/v1/guardians/${family.guardianId}/children`, body), 'displayName', text);
    });

    it('refuses an unknown property', async () => {
      expectBadRequest(
        await post(`/v1/guardians/${family.guardianId}/children`, { displayName: 'K', guardianId: family.guardianId }),
        'guardianId',
        'should not exist',
      );
    });
  });

  describe('POST /v1/children/:childId/conversations', () => {
    it.each<[string, unknown, string?]>([
      ['not ISO', 'yesterday', 'ISO-8601'],
      ['without an offset', '2026-11-01T10:00:00', 'offset'],
      ['a date only', '2026-11-01', 'ISO-8601'],
      ['a number', 1764331200000, 'ISO-8601'],
      ['an impossible date', '2026-02-31T10:00:00Z', 'a real date'],
      ['year zero', '0000-01-01T00:00:00Z', 'a real date'],
      ['an impossible time', '2026-13-45T99:99:00Z'],
      ['in the future', '2026-11-28T12:00:00.001Z', 'future'],
      ['a day ahead', '2026-11-29T00:00:00+00:00', 'future'],
    ])('startedAt %s → 400 naming startedAt, nothing written', async (...[_label, startedAt, text]) => {
      expectBadRequest(await post(`/v1/children/${family.childId}/conversations`, { startedAt }), 'startedAt', text);
    });

    it('accepts startedAt exactly now and in the past with an offset', async () => {
      const ingest = t.as('ingest');
      await t.http.post(`/v1/children/${family.childId}/conversations`).set(ingest).send({ startedAt: NOW }).expect(201);
      await t.http
        .post(`/v1/children/${family.childId}/conversations`)
        .set(ingest)
        .send({ startedAt: '2026-11-28T13:00:00+02:00' })
        .expect(201);
    });
  });

  describe('POST /v1/conversations/:conversationId/messages', () => {
    const path = () => `/v1/conversations/${family.conversationId}/messages`;
    const ok = (i: number) => ({ role: i % 2 ? 'teddy' : 'child', text: `m${i}` });

    it.each<[string, Record<string, unknown>, string, (string | RegExp)?]>([
      ['role parent', { role: 'parent', text: 'hi' }, 'role', /child.*teddy/],
      ['role missing', { text: 'hi' }, 'role'],
      ['text empty', { role: 'child', text: '' }, 'text', 'must not be empty'],
      ['text missing', { role: 'child' }, 'text'],
      ['text over 4000 chars', { role: 'child', text: 'z'.repeat(4001) }, 'text', '4000'],
      ['text not a string', { role: 'child', text: { a: 1 } }, 'text'],
      ['createdAt not a date', { role: 'child', text: 'hi', createdAt: 'bad' }, 'createdAt', 'ISO-8601'],
      ['createdAt without offset', { role: 'child', text: 'hi', createdAt: '2026-11-01T10:00:00' }, 'createdAt', 'offset'],
      ['createdAt in the future', { role: 'child', text: 'hi', createdAt: '2026-11-28T12:00:01Z' }, 'createdAt', 'future'],
      ['an unknown property', { role: 'child', text: 'hi', mood: 'happy' }, 'mood', 'should not exist'],
    ])('single %s → 400 naming the field, nothing written', async (...[_label, body, field, text]) => {
      expectBadRequest(await post(path(), body), field, text);
    });

    it.each<[string, Record<string, unknown>, string, (string | RegExp)?]>([
      ['with 0 items', { messages: [] }, 'messages', 'at least 1'],
      ['with 1001 items', { messages: Array.from({ length: 1001 }, (_, i) => ok(i)) }, 'messages', '1000'],
      ['not an array', { messages: 'hello' }, 'messages', 'array'],
      ['with a bad role in item 2', { messages: [ok(0), ok(1), { role: 'parent', text: 'x' }, ok(3)] }, 'messages.2.role', /child.*teddy/],
      ['with an empty text in item 1', { messages: [ok(0), { role: 'child', text: '' }] }, 'messages.1.text', 'must not be empty'],
      ['with a bad createdAt in item 0', { messages: [{ ...ok(0), createdAt: 'soon' }, ok(1)] }, 'messages.0.createdAt', 'ISO-8601'],
      [
        'with a future createdAt in the last item',
        {
          messages: [
            { ...ok(0), createdAt: '2026-11-01T00:00:00Z' },
            { ...ok(1), createdAt: '2026-12-01T00:00:00Z' },
          ],
        },
        'messages.1.createdAt',
        'future',
      ],
      [
        'with an unknown property in item 1',
        { messages: [ok(0), { ...ok(1), extra: 1 }] },
        'messages.1',
        'property extra should not exist',
      ],
      ['combined with the single form', { role: 'child', text: 'hi', messages: [ok(0)] }, 'messages', 'cannot be combined'],
      ['combined with createdAt only', { createdAt: '2026-11-01T00:00:00Z', messages: [ok(0)] }, 'messages', 'cannot be combined'],
    ])('batch %s → 400 naming the field, nothing written', async (...[_label, body, field, text]) => {
      expectBadRequest(await post(path(), body), field, text);
    });

    it('accepts a text of exactly 4000 characters and a batch of exactly 1000 — so the limits are where they say', async () => {
      const ingest = t.as('ingest');
      await t.http
        .post(path())
        .set(ingest)
        .send({ role: 'child', text: 'z'.repeat(4000) })
        .expect(201);
      const res = await t.http
        .post(path())
        .set(ingest)
        .send({ messages: Array.from({ length: 1000 }, (_, i) => ok(i)) })
        .expect(201);
      expect(res.body.count).toBe(1000);
    });
  });

  describe('path parameters', () => {
    const ids = () => family;
    it.each<[string, string, (f: ReturnType<typeof ids>) => string, string, object?]>([
      ['POST', 'guardianId', () => '/v1/guardians/not-a-uuid/children', 'guardianId', { displayName: 'K' }],
      ['DELETE', 'guardianId', () => '/v1/guardians/123', 'guardianId'],
      ['POST', 'childId', () => '/v1/children/abc/conversations', 'childId', {}],
      ['GET', 'childId', () => `/v1/children/${'1'.repeat(36)}/conversations`, 'childId'],
      ['POST', 'conversationId', () => '/v1/conversations/xyz/messages', 'conversationId', { role: 'child', text: 'hi' }],
      ['GET', 'conversationId', (f) => `/v1/conversations/${f.conversationId}x/messages`, 'conversationId'],
    ])('%s with a bad %s → 400 naming it, nothing written', async (...[method, _param, url, field, body]) => {
      const res = await writesNothing(() => {
        const r = method === 'POST' ? t.http.post(url(ids())) : method === 'DELETE' ? t.http.delete(url(ids())) : t.http.get(url(ids()));
        const authed = r.set(t.as('ingest'));
        return body ? authed.send(body) : authed;
      });
      expectBadRequest(res, field, 'UUID');
    });
  });

  describe('list queries', () => {
    const lists = () => [`/v1/children/${family.childId}/conversations`, `/v1/conversations/${family.conversationId}/messages`];

    it.each<[string, Record<string, string>, string, (string | RegExp)?]>([
      ['limit 0', { limit: '0' }, 'limit', 'less than 1'],
      ['limit 201', { limit: '201' }, 'limit', '200'],
      ['limit abc', { limit: 'abc' }, 'limit', 'integer'],
      ['limit 1.5', { limit: '1.5' }, 'limit', 'integer'],
      ['a garbage cursor', { cursor: 'garbage' }, 'cursor'],
      ['a cursor of valid base64 but the wrong content', { cursor: Buffer.from('{"a":1}').toString('base64url') }, 'cursor'],
      [
        'a cursor with a bad date',
        { cursor: Buffer.from(JSON.stringify(['nope', '00000000-0000-4000-8000-000000000000'])).toString('base64url') },
        'cursor',
      ],
      ['an over-long cursor', { cursor: 'a'.repeat(201) }, 'cursor'],
      ['an unknown parameter', { sort: 'asc' }, 'sort', 'should not exist'],
    ])('%s → 400 naming the field', async (...[_label, query, field, text]) => {
      for (const url of lists()) {
        const res = await t.http.get(url).query(query).set(t.as('ingest'));
        expectBadRequest(res, field, text);
      }
    });

    it('accepts limit 1 and 200 and a cursor it returned', async () => {
      for (const url of lists()) {
        await t.http.get(url).query({ limit: '200' }).set(t.as('ingest')).expect(200);
        const first = await t.http.get(url).query({ limit: '1' }).set(t.as('ingest')).expect(200);
        expect(first.body.items).toHaveLength(1);
        expect(typeof first.body.nextCursor).toBe('string');
        await t.http.get(url).query({ limit: '1', cursor: first.body.nextCursor }).set(t.as('ingest')).expect(200);
      }
    });
  });

  describe('HTTP hygiene', () => {
    it('answers a malformed JSON body with 400 JSON, writing nothing', async () => {
      for (const raw of ['{"email": "a@b.co", "displayName": ', '{bad json}', 'null', '"just a string"']) {
        const res = await writesNothing(() =>
          t.http.post('/v1/guardians').set(t.as('ingest')).set('Content-Type', 'application/json').send(raw),
        );
        expectErrorShape(res, 400, 'Bad Request');
        expect(res.body.message).toMatch(/JSON/);
      }
    });

    it('answers an unknown route with 404 JSON in the same shape', async () => {
      for (const [method, url] of [
        ['get', '/nope'],
        ['post', '/v1/nope'],
        ['get', '/v1/guardian'],
        ['put', '/v1/guardians/00000000-0000-4000-8000-000000000000'],
      ] as const) {
        const res = await t.http[method](url).set(t.as('ingest'));
        expectErrorShape(res, 404, 'Not Found');
        expect(res.body.message).toContain(url);
        const anonymous = await t.http[method](url);
        expectErrorShape(anonymous, 404, 'Not Found');
      }
    });

    it('answers a missing parent with 404 JSON, not a stack', async () => {
      const res = await post('/v1/guardians/00000000-0000-4000-8000-000000000000/children', { displayName: 'K' });
      expectErrorShape(res, 404, 'Not Found');
      expect(res.body.message).toContain('guardian');
    });

    it('sends helmet headers and no x-powered-by on success and error answers alike', async () => {
      const answers = [
        await t.http.get('/health/live'),
        await t.http.get('/v1/children/abc/conversations').set(t.as('ingest')),
        await t.http.get('/nope'),
        await t.http.get('/admin/auth/whoami'),
        await t.http.post('/v1/guardians').set(t.as('ingest')).set('Content-Type', 'application/json').send('{'),
        await t.http.get(`/v1/conversations/${family.conversationId}/messages`).set(t.as('ingest')),
      ];
      expect(answers.map((r) => r.status)).toEqual([200, 400, 404, 401, 400, 200]);
      for (const res of answers) {
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBeDefined();
        expect(res.headers['strict-transport-security']).toBeDefined();
        expect(res.headers['content-security-policy']).toBeDefined();
        expect(res.headers['x-powered-by']).toBeUndefined();
      }
    });

    describe('X-Request-Id', () => {
      const cases = () => [
        {
          name: 'a validation error',
          send: (h: Record<string, string>) => t.http.post('/v1/guardians').set(t.as('ingest')).set(h).send({ email: 'x' }),
        },
        {
          name: 'a bad UUID',
          send: (h: Record<string, string>) => t.http.get('/v1/children/abc/conversations').set(t.as('ingest')).set(h),
        },
        { name: 'a missing key', send: (h: Record<string, string>) => t.http.get('/admin/auth/whoami').set(h) },
        { name: 'an unknown route', send: (h: Record<string, string>) => t.http.get('/nope').set(h) },
        {
          name: 'a malformed body',
          send: (h: Record<string, string>) =>
            t.http.post('/v1/guardians').set(t.as('ingest')).set(h).set('Content-Type', 'application/json').send('{'),
        },
      ];

      it('echoes a valid incoming id, in the header and in the error body', async () => {
        for (const c of cases()) {
          const id = `req-${c.name.replace(/\W+/g, '_')}.42`;
          const res = await c.send({ 'X-Request-Id': id });
          expect([c.name, res.headers['x-request-id'], res.body.requestId]).toEqual([c.name, id, id]);
        }
        const ok = await t.http.get('/health/live').set('X-Request-Id', 'probe-1');
        expect(ok.headers['x-request-id']).toBe('probe-1');
      });

      it('generates a UUID when none, or a malformed one, is sent, and puts it in the error body', async () => {
        for (const c of cases()) {
          for (const headers of [{}, { 'X-Request-Id': 'has spaces and <html>' }, { 'X-Request-Id': 'x'.repeat(65) }] as Record<
            string,
            string
          >[]) {
            const res = await c.send(headers);
            const id = res.headers['x-request-id'];
            expect([c.name, headers, id]).toEqual([c.name, headers, expect.stringMatching(UUID_RE)]);
            expect([c.name, res.body.requestId]).toEqual([c.name, id]);
          }
        }
        const a = await t.http.get('/health/live');
        const b = await t.http.get('/health/live');
        expect(a.headers['x-request-id']).toMatch(UUID_RE);
        expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
      });
    });
  });

  it('has written only what the accepting requests wrote', async () => {
    // 1 + 3 guardians, 1 child, 1 + 2 conversations, 1 + 1000 messages: every refusal above wrote nothing.
    expect(await counts()).toEqual({ guardian: 4, child: 1, conversation: 3, message: 1001 });
  });
});

describe('body size limit (BODY_LIMIT=1kb)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ env: { BODY_LIMIT: '1kb' } });
  });
  afterAll(() => t.close());

  it('answers a body over the limit with 413 JSON and writes nothing', async () => {
    const res = await t.http
      .post('/v1/guardians')
      .set(t.as('ingest'))
      .set('X-Request-Id', 'too-big-1')
      .send({ email: 'big@example.com', displayName: 'B', padding: 'p'.repeat(2048) });
    expectErrorShape(res, 413, 'Payload Too Large');
    expect(res.body.message).toMatch(/limit/);
    expect(res.headers['x-request-id']).toBe('too-big-1');
    expect(res.body.requestId).toBe('too-big-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM guardian');
    expect(Number(n)).toBe(0);
  });

  it('still accepts a body under the limit', async () => {
    await t.http.post('/v1/guardians').set(t.as('ingest')).send({ email: 'small@example.com', displayName: 'S' }).expect(201);
  });
});

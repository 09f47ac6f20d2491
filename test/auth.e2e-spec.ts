import { startApp, KEYS, TestApp } from './support/app';

/**
 * The role matrix for every route, built from the running app: the OpenAPI document (/docs-json)
 * cross-checked against Express's own route table, so a new route is covered as soon as it exists.
 */

type Role = keyof typeof KEYS;
const ROLES: Role[] = ['viewer', 'operator', 'ingest'];
const UNKNOWN_KEY = 'not-a-configured-key-00000000000000';
const DUMMY_UUID = '00000000-0000-4000-8000-000000000000';

interface Route {
  method: string; // lower case, as in OpenAPI
  path: string; // OpenAPI template: /v1/guardians/{guardianId}/children
  operation?: { security?: unknown[]; responses?: Record<string, { description?: string }> };
}

/** Routes that answer without a key. /metrics, /docs and /docs-json are checked on their own below. */
const PUBLIC_ROUTES = new Set(['get /health/live', 'get /health/ready']);

/** Routes present today; the discovered list must contain them all. */
const KNOWN_ROUTES = [
  'get /admin/auth/whoami',
  'get /health/live',
  'get /health/ready',
  'post /v1/guardians',
  'post /v1/guardians/{guardianId}/children',
  'post /v1/children/{childId}/conversations',
  'get /v1/children/{childId}/conversations',
  'post /v1/conversations/{conversationId}/messages',
  'get /v1/conversations/{conversationId}/messages',
  'delete /v1/guardians/{guardianId}',
];

/** Success status of the known protected routes when called by an allowed role with real ids. */
const KNOWN_SUCCESS: Record<string, number> = {
  'get /admin/auth/whoami': 200,
  'post /v1/guardians': 201,
  'post /v1/guardians/{guardianId}/children': 201,
  'post /v1/children/{childId}/conversations': 201,
  'get /v1/children/{childId}/conversations': 200,
  'post /v1/conversations/{conversationId}/messages': 201,
  'get /v1/conversations/{conversationId}/messages': 200,
  'delete /v1/guardians/{guardianId}': 200,
};

/**
 * The access policy, written independently of the code under test: the ingest API is ingest-only;
 * whoami is for every role; the rest of the admin API is readable by viewers and steered by operators;
 * anything else is operator-only (the guard's default).
 */
function allowedRoles(method: string, path: string): Role[] {
  if (path.startsWith('/v1/')) return ['ingest'];
  if (method === 'get' && path === '/admin/auth/whoami') return ['viewer', 'operator', 'ingest'];
  if (path.startsWith('/admin/') && method === 'get') return ['viewer', 'operator'];
  return ['operator'];
}

/** The roles a 403 must name: an operator satisfies "viewer", so it is not named beside it. */
function namedRoles(allowed: Role[]): Role[] {
  return allowed.includes('viewer') ? allowed.filter((r) => r !== 'operator') : allowed;
}

const key = (r: Route) => `${r.method} ${r.path}`;

describe('auth: role matrix over every route', () => {
  let t: TestApp;
  const routes: Route[] = [];
  let shared: Record<string, string>;
  let seq = 0;

  /** A fresh guardian → child → conversation, so each allowed call (DELETE included) has its own real ids. */
  async function family(): Promise<Record<string, string>> {
    const ingest = t.as('ingest');
    const g = await t.http
      .post('/v1/guardians')
      .set(ingest)
      .send({ email: `auth-${process.pid}-${++seq}@example.com`, displayName: 'Parent' })
      .expect(201);
    const c = await t.http.post(`/v1/guardians/${g.body.id}/children`).set(ingest).send({ displayName: 'Kid' }).expect(201);
    const cv = await t.http.post(`/v1/children/${c.body.id}/conversations`).set(ingest).send({}).expect(201);
    return { guardianId: g.body.id, childId: c.body.id, conversationId: cv.body.id, id: 'daily_data_cleanup', jobId: 'daily_data_cleanup' };
  }

  function fill(path: string, ids: Record<string, string>): string {
    return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(ids[name] ?? DUMMY_UUID));
  }

  function bodyFor(route: Route): Record<string, unknown> | undefined {
    if (!['post', 'put', 'patch'].includes(route.method)) return undefined;
    switch (key(route)) {
      case 'post /v1/guardians':
        return { email: `auth-body-${process.pid}-${++seq}@example.com`, displayName: 'Body' };
      case 'post /v1/guardians/{guardianId}/children':
        return { displayName: 'Kid' };
      case 'post /v1/conversations/{conversationId}/messages':
        return { role: 'child', text: 'hello' };
      default:
        return {};
    }
  }

  function call(route: Route, headers: Record<string, string>, ids: Record<string, string>) {
    const url = fill(route.path, ids);
    const req = (t.http as unknown as Record<string, (u: string) => import('supertest').Test>)[route.method](url).set(headers);
    const body = bodyFor(route);
    return body === undefined ? req : req.send(body);
  }

  beforeAll(async () => {
    // The matrix sends many unknown keys on purpose; the failure limit is tested on its own apps below.
    t = await startApp({ env: { AUTH_FAILURE_LIMIT: '1000' } });
    const docs = await t.http.get('/docs-json').expect(200);
    for (const [path, ops] of Object.entries<Record<string, Route['operation']>>(docs.body.paths ?? {})) {
      for (const [method, operation] of Object.entries(ops)) {
        if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) routes.push({ method, path, operation });
      }
    }
    shared = await family();
  });
  afterAll(() => t.close());

  it('discovers a non-empty route list that contains the known routes', async () => {
    expect(routes.length).toBeGreaterThanOrEqual(KNOWN_ROUTES.length);
    expect(routes.map(key)).toEqual(expect.arrayContaining(KNOWN_ROUTES));
  });

  it('documents every route the app serves (so none escapes this matrix)', async () => {
    const express = t.app.getHttpAdapter().getInstance() as { router?: { stack: unknown[] }; _router?: { stack: unknown[] } };
    const stack = (express.router ?? express._router)?.stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }>;
    expect(Array.isArray(stack)).toBe(true);
    const served = stack
      .filter((layer) => layer.route && typeof layer.route.path === 'string')
      .flatMap((layer) => Object.keys(layer.route!.methods).map((m) => `${m} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`))
      // Catch-all middleware mounts, Swagger's own pages and /metrics (token-guarded, tested below) are not API routes.
      .filter((r) => !r.includes('{*') && !/ \/docs/.test(r) && r !== 'get /metrics');
    expect(served).toEqual(expect.arrayContaining(KNOWN_ROUTES));
    const documented = new Set(routes.map(key));
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('documents the security and the needed role of every protected route, and none other is open', async () => {
    const problems: string[] = [];
    for (const route of routes) {
      const k = key(route);
      const security = JSON.stringify(route.operation?.security ?? []);
      if (PUBLIC_ROUTES.has(k)) {
        if (security !== '[]') problems.push(`${k}: public but documents security ${security}`);
        continue;
      }
      if (!security.includes('api-key') || !security.includes('bearer')) problems.push(`${k}: no api-key/bearer security documented`);
      if (!route.operation?.responses?.['401']) problems.push(`${k}: no 401 documented`);
      const forbidden = route.operation?.responses?.['403']?.description ?? '';
      const needs = `needs: ${namedRoles(allowedRoles(route.method, route.path)).join(' or ')}`;
      if (!forbidden.includes(needs)) problems.push(`${k}: 403 documents "${forbidden}", expected "${needs}"`);
    }
    expect(problems).toEqual([]);
  });

  it('answers 401 JSON to a protected route called without a key', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const route of routes.filter((r) => !PUBLIC_ROUTES.has(key(r)))) {
      checked++;
      const res = await call(route, {}, shared);
      const b = res.body;
      if (res.status !== 401) problems.push(`${key(route)}: ${res.status}`);
      else if (b.statusCode !== 401 || b.error !== 'Unauthorized' || typeof b.message !== 'string' || !/API key/i.test(b.message)) {
        problems.push(`${key(route)}: body ${JSON.stringify(b)}`);
      }
      if (!/application\/json/.test(String(res.headers['content-type']))) problems.push(`${key(route)}: not JSON`);
    }
    expect(checked).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('answers 401 to an unknown key, in either header form', async () => {
    const problems: string[] = [];
    for (const route of routes.filter((r) => !PUBLIC_ROUTES.has(key(r)))) {
      for (const headers of [{ 'X-API-Key': UNKNOWN_KEY }, { Authorization: `Bearer ${UNKNOWN_KEY}` }] as Record<string, string>[]) {
        const res = await call(route, headers, shared);
        if (
          res.status !== 401 ||
          res.body.statusCode !== 401 ||
          res.body.error !== 'Unauthorized' ||
          typeof res.body.message !== 'string'
        ) {
          problems.push(`${key(route)} ${Object.keys(headers)[0]}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('answers 403 naming the needed role to a role that may not call the route', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const route of routes.filter((r) => !PUBLIC_ROUTES.has(key(r)))) {
      const allowed = allowedRoles(route.method, route.path);
      for (const role of ROLES.filter((r) => !allowed.includes(r))) {
        checked++;
        const res = await call(route, t.as(role), shared);
        const b = res.body;
        const named = namedRoles(allowed).every((r) => typeof b.message === 'string' && b.message.includes(r));
        if (res.status !== 403 || b.statusCode !== 403 || b.error !== 'Forbidden' || !named || !String(b.message).includes(role)) {
          problems.push(`${key(route)} as ${role}: ${res.status} ${JSON.stringify(b)}`);
        }
      }
    }
    // At least: viewer and operator on each of the 7 ingest routes.
    expect(checked).toBeGreaterThanOrEqual(14);
    expect(problems).toEqual([]);
  });

  it('lets an allowed role through with real ids (2xx on the known routes)', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const route of routes.filter((r) => !PUBLIC_ROUTES.has(key(r)))) {
      for (const role of allowedRoles(route.method, route.path)) {
        checked++;
        const res = await call(route, t.as(role), await family());
        const expected = KNOWN_SUCCESS[key(route)];
        const ok =
          expected !== undefined
            ? res.status === expected
            : (res.status >= 200 && res.status < 300) || [400, 404, 409].includes(res.status);
        if (!ok) problems.push(`${key(route)} as ${role}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(Object.keys(KNOWN_SUCCESS).length);
    expect(problems).toEqual([]);
  });

  it('opens the public routes without a key', async () => {
    for (const route of routes.filter((r) => PUBLIC_ROUTES.has(key(r)))) {
      const res = await call(route, {}, shared);
      expect([key(route), res.status]).toEqual([key(route), 200]);
    }
    await t.http.get('/health/live').expect(200, { status: 'ok' });
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('# HELP');
    const docs = await t.http.get('/docs').expect(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    const json = await t.http.get('/docs-json').expect(200);
    expect(json.body.openapi).toMatch(/^3\./);
  });

  it('whoami answers {role} to every role, with X-API-Key or a Bearer token in any case', async () => {
    for (const role of ROLES) {
      const forms: Record<string, string>[] = [
        { 'X-API-Key': KEYS[role] },
        { Authorization: `Bearer ${KEYS[role]}` },
        { Authorization: `bearer ${KEYS[role]}` },
        { Authorization: `BEARER ${KEYS[role]}` },
        { Authorization: `  BeArEr   ${KEYS[role]}  ` },
      ];
      for (const headers of forms) {
        const res = await t.http.get('/admin/auth/whoami').set(headers);
        expect([headers, res.status, res.body]).toEqual([headers, 200, { role }]);
      }
    }
  });

  it('lets ingest write with a Bearer token too', async () => {
    const ids = await family();
    const res = await t.http
      .post(`/v1/conversations/${ids.conversationId}/messages`)
      .set('Authorization', `bearer ${KEYS.ingest}`)
      .send({ role: 'teddy', text: 'hi' })
      .expect(201);
    expect(res.body).toMatchObject({ conversationId: ids.conversationId, role: 'teddy', text: 'hi' });
  });

  it('does not accept a key in other schemes or places', async () => {
    for (const headers of [{ Authorization: `Basic ${KEYS.ingest}` }, { Authorization: KEYS.ingest }, { 'X-API-Key': '' }] as Record<
      string,
      string
    >[]) {
      const res = await t.http.get('/admin/auth/whoami').set(headers);
      expect([headers, res.status]).toEqual([headers, 401]);
    }
    await t.http.get(`/admin/auth/whoami?apiKey=${KEYS.ingest}`).expect(401);
    await t.http.get(`/admin/auth/whoami?api_key=${KEYS.ingest}`).expect(401);
  });

  it('does not let a key be extended or truncated', async () => {
    for (const k of [`${KEYS.ingest}x`, KEYS.ingest.slice(0, -1), KEYS.ingest.toUpperCase()]) {
      await t.http.get('/admin/auth/whoami').set('X-API-Key', k).expect(401);
    }
  });
});

describe('auth: failed-authentication limit', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  describe('with AUTH_FAILURE_LIMIT=5', () => {
    let t: TestApp;
    // One proxy hop is trusted, so X-Forwarded-For stands for distinct clients.
    beforeAll(async () => {
      t = await startApp({ env: { AUTH_FAILURE_LIMIT: '5', TRUST_PROXY: '1' } });
    });
    afterAll(() => t.close());

    const from = (ip: string, headers: Record<string, string> = {}) => ({ 'X-Forwarded-For': ip, ...headers });

    it('never counts a missing key as a failure', async () => {
      for (let i = 0; i < 30; i++) {
        const res = await t.http.get('/admin/auth/whoami').set(from('203.0.113.50'));
        expect([i, res.status]).toEqual([i, 401]);
      }
      await t.http
        .get('/admin/auth/whoami')
        .set(from('203.0.113.50', t.as('viewer')))
        .expect(200, { role: 'viewer' });
    });

    it('answers 401 to 5 wrong keys, then 429 with Retry-After even to a valid key', async () => {
      const client = '203.0.113.7';
      for (let i = 0; i < 5; i++) {
        const res = await t.http.get('/admin/auth/whoami').set(from(client, { 'X-API-Key': `${UNKNOWN_KEY}${i}` }));
        expect([i, res.status]).toEqual([i, 401]);
      }
      const blocked = await t.http.get('/admin/auth/whoami').set(from(client, t.as('operator')));
      expect(blocked.status).toBe(429);
      expect(blocked.headers['content-type']).toMatch(/application\/json/);
      expect(blocked.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', message: expect.any(String) });
      const retryAfter = Number(blocked.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);

      // Still blocked, whatever is presented, on any protected route.
      await t.http
        .post('/v1/guardians')
        .set(from(client, t.as('ingest')))
        .send({ email: 'blocked@example.com', displayName: 'B' })
        .expect(429);
      await t.http.get('/admin/auth/whoami').set(from(client)).expect(429);
      await t.http
        .get('/admin/auth/whoami')
        .set(from(client, { Authorization: `Bearer ${UNKNOWN_KEY}` }))
        .expect(429);
      const [{ n }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM guardian WHERE email = 'blocked@example.com'`);
      expect(Number(n)).toBe(0);

      // Probes stay open, and other clients are not locked out by this one.
      await t.http.get('/health/live').set(from(client)).expect(200);
      await t.http
        .get('/admin/auth/whoami')
        .set(from('198.51.100.9', t.as('viewer')))
        .expect(200, { role: 'viewer' });
    });
  });

  it('with the default configuration, brute-forcing a key gets 429 before 100 tries', async () => {
    const t = await startApp();
    try {
      let firstBlocked = 0;
      for (let i = 1; i <= 100; i++) {
        const res = await t.http.get('/admin/auth/whoami').set('X-API-Key', `${UNKNOWN_KEY}-${i}`);
        if (res.status === 429) {
          firstBlocked = i;
          expect(res.headers['retry-after']).toMatch(/^\d+$/);
          break;
        }
        expect([i, res.status]).toEqual([i, 401]);
      }
      expect(firstBlocked).toBeGreaterThan(1);
      expect(firstBlocked).toBeLessThanOrEqual(100);
      await t.http.get('/admin/auth/whoami').set(t.as('operator')).expect(429);
    } finally {
      await t.close();
    }
  });

  it('lifts the block when the window ends', async () => {
    const t = await startApp({ env: { AUTH_FAILURE_LIMIT: '2', AUTH_FAILURE_WINDOW_SECONDS: '2' } });
    try {
      await t.http.get('/admin/auth/whoami').set('X-API-Key', UNKNOWN_KEY).expect(401);
      await t.http.get('/admin/auth/whoami').set('X-API-Key', UNKNOWN_KEY).expect(401);
      const blocked = await t.http.get('/admin/auth/whoami').set(t.as('viewer')).expect(429);
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(2);
      await sleep(2100);
      await t.http.get('/admin/auth/whoami').set(t.as('viewer')).expect(200, { role: 'viewer' });
    } finally {
      await t.close();
    }
  });
});

describe('auth: METRICS_TOKEN', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => t.close());

  it('requires Authorization: Bearer <token> on /metrics', async () => {
    const none = await t.http.get('/metrics').expect(401);
    expect(none.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.stringContaining('METRICS_TOKEN') });
    await t.http.get('/metrics').set('Authorization', `Bearer ${TOKEN}x`).expect(401);
    await t.http.get('/metrics').set('Authorization', `Bearer ${KEYS.operator}`).expect(401);
    const ok = await t.http.get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(ok.text).toContain('# HELP');
  });

  it('leaves the probes and the docs open', async () => {
    await t.http.get('/health/live').expect(200);
    await t.http.get('/health/ready').expect(200);
    await t.http.get('/docs-json').expect(200);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import { Client } from 'pg';
import { KEYS, startApp, TestApp } from './support/app';
import { TEST_DB } from './support/databases';

/** One sample line of the Prometheus text format. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels (ignoring `le`), or 0 if absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`more than one ${name} sample for ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

async function scrape(t: TestApp): Promise<Sample[]> {
  const res = await t.http.get('/metrics').expect(200);
  return parseMetrics(res.text);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const HISTOGRAM = 'teddy_http_request_duration_seconds';
const ERRORS = 'teddy_application_errors_total';

async function family(t: TestApp) {
  const email = `p${Math.random().toString(36).slice(2)}@example.com`;
  const guardian = await t.http.post('/v1/guardians').set(t.as('ingest')).send({ email, displayName: 'Layla' }).expect(201);
  const child = await t.http
    .post(`/v1/guardians/${guardian.body.id}/children`)
    .set(t.as('ingest'))
    .send({ displayName: 'Omar' })
    .expect(201);
  const conversation = await t.http.post(`/v1/children/${child.body.id}/conversations`).set(t.as('ingest')).send({}).expect(201);
  return { guardianId: guardian.body.id as string, childId: child.body.id as string, conversationId: conversation.body.id as string };
}

describe('observability: metrics and health', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('answers /metrics in the Prometheus text format with the process default metrics', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.headers['content-type']).toContain('version=0.0.4');
    expect(res.text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(res.text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(res.text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(res.text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    // Every line parses as a sample or a comment.
    expect(parseMetrics(res.text).length).toBeGreaterThan(20);
  });

  it('exports every job error type from the start, at 0', async () => {
    const res = await t.http.get('/metrics').expect(200);
    expect(res.text).toContain(`# TYPE ${ERRORS} counter`);
    for (const type of ['scheduled_cleanup', 'scheduled_notifications', 'scheduled_job']) {
      expect(res.text).toMatch(new RegExp(`^${ERRORS}\\{type="${type}"\\} 0$`, 'm'));
    }
    expect(res.text).toMatch(new RegExp(`^${ERRORS}\\{type="http"\\} \\d+$`, 'm'));
  });

  it('times requests by method, route pattern (never a raw id) and status code; unknown paths are "unmatched"', async () => {
    const { guardianId, childId } = await family(t);
    const childrenRoute = { method: 'POST', route: '/v1/guardians/:guardianId/children', status_code: '201' };
    const listRoute = { method: 'GET', route: '/v1/children/:childId/conversations', status_code: '200' };
    const refused = { method: 'GET', route: '/v1/children/:childId/conversations', status_code: '401' };
    const unmatched = { method: 'GET', route: 'unmatched', status_code: '404' };
    const before = await scrape(t);

    await t.http.post(`/v1/guardians/${guardianId}/children`).set(t.as('ingest')).send({ displayName: 'Sara' }).expect(201);
    await t.http.post(`/v1/guardians/${guardianId}/children`).set(t.as('ingest')).send({ displayName: 'Adam' }).expect(201);
    await t.http.get(`/v1/children/${childId}/conversations`).set(t.as('ingest')).expect(200);
    await t.http.get(`/v1/children/${childId}/conversations`).expect(401);
    await t.http.get(`/no/such/path/${childId}`).set(t.as('ingest')).expect(404);

    const after = await scrape(t);
    const count = (s: Sample[], labels: Record<string, string>) => valueOf(s, `${HISTOGRAM}_count`, labels);
    expect(count(after, childrenRoute) - count(before, childrenRoute)).toBe(2);
    expect(count(after, listRoute) - count(before, listRoute)).toBe(1);
    expect(count(after, refused) - count(before, refused)).toBe(1);
    expect(count(after, unmatched) - count(before, unmatched)).toBe(1);

    // A real histogram: buckets up to +Inf and a sum, per label set.
    expect(valueOf(after, `${HISTOGRAM}_bucket`, { ...childrenRoute, le: '+Inf' })).toBe(count(after, childrenRoute));
    expect(after.some((s) => s.name === `${HISTOGRAM}_sum` && s.labels.route === childrenRoute.route && s.value > 0)).toBe(true);

    const series = after.filter((s) => s.name.startsWith(HISTOGRAM));
    expect(series.length).toBeGreaterThan(0);
    for (const s of series) {
      expect(
        Object.keys(s.labels)
          .filter((k) => k !== 'le')
          .sort(),
      ).toEqual(['method', 'route', 'status_code']);
      expect(s.labels.route).not.toMatch(UUID);
      expect(s.labels.route).not.toContain('/no/such/path');
    }
  });

  it('answers liveness and readiness with the database up', async () => {
    const live = await t.http.get('/health/live').expect(200);
    expect(live.body).toEqual({ status: 'ok' });
    const ready = await t.http.get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });
});

describe('observability: readiness without a database', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('answers 503 on /health/ready once the database is gone, while liveness stays 200', async () => {
    await t.http.get('/health/ready').expect(200);
    await t.dataSource.destroy();
    const res = await t.http.get('/health/ready').expect(503);
    expect(res.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'not ready: database down',
      checks: { database: { status: 'down' } },
    });
    await t.http.get('/health/live').expect(200);
  });
});

if (TEST_DB === 'postgres') {
  describe('observability: readiness when PostgreSQL drops the connections', () => {
    let t: TestApp;

    beforeAll(async () => {
      // The smallest pool, so terminating the backends leaves the app without a live connection.
      t = await startApp({ env: { DB_POOL_SIZE: '2' } });
    });
    afterAll(() => t.close());

    it('answers 503 while its backends are terminated and the database refuses new connections', async () => {
      await t.http.get('/health/ready').expect(200);
      const name = new URL(t.database.url).pathname.slice(1);
      const admin = new Client({ connectionString: t.database.url.replace(`/${name}`, '/postgres') });
      await admin.connect();
      try {
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        const res = await t.http.get('/health/ready').expect(503);
        expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
        // Once the database accepts connections again, the pool reconnects and the service is ready again.
        await t.http.get('/health/ready').expect(200);
      } finally {
        await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
        await admin.end();
      }
    });
  });
}

describe('observability: logs', () => {
  const EMAIL = 'secret.parent@example.com';
  let dir: string;
  let logFile: string;
  let lines: Array<Record<string, any>>;
  let raw: string;
  const sent: Array<{ id: string; url: string; status: number }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'teddy-log-'));
    logFile = join(dir, 'nested', 'teddy_system.log');
    // nestjs-pino keeps one process-wide logger for lines outside a request, made by the first app of this
    // file; forget it so this app's own (LOG_FILE) logger is used, as in a process that runs one app.
    __resetOutOfContextForTests();
    const t = await startApp({ env: { LOG_FILE: logFile, LOG_LEVEL: 'info', LOG_HTTP_REQUESTS: 'true' } });
    // createApp buffers Nest's own logs until listen(); startApp only calls init(), so flush as listen() would.
    t.app.flushLogs();
    try {
      const record = (res: { headers: Record<string, string>; status: number }, url: string) =>
        sent.push({ id: res.headers['x-request-id'], url, status: res.status });

      let res = await t.http
        .post('/v1/guardians')
        .set('Authorization', `Bearer ${KEYS.ingest}`)
        .send({ email: EMAIL, displayName: 'Secret Parent' })
        .expect(201);
      record(res, '/v1/guardians');
      // An unknown query parameter is refused (400), but the request is logged with its URL all the same.
      res = await t.http.get(`/v1/children/${res.body.id}/conversations?x=${EMAIL}`).set('X-API-Key', KEYS.ingest).expect(400);
      record(res, '/v1/children/');
      // The lookup by e-mail, whose address is in the URL, URL-encoded as URLSearchParams would send it.
      res = await t.http
        .get(`/v1/guardians?${new URLSearchParams({ email: EMAIL })}`)
        .set('X-API-Key', KEYS.ingest)
        .expect(200);
      record(res, '/v1/guardians?email=');
      res = await t.http.get('/admin/auth/whoami').set('X-API-Key', KEYS.operator).set('X-Request-Id', 'log-test-operator').expect(200);
      record(res, '/admin/auth/whoami');
      res = await t.http.get('/admin/auth/whoami').set('Authorization', `Bearer ${KEYS.viewer}`).expect(200);
      record(res, '/admin/auth/whoami');
      // The same e-mail in a body that fails validation: the message names the field, the log must still not carry it.
      res = await t.http.post('/v1/guardians').set('X-API-Key', KEYS.ingest).send({ email: EMAIL, displayName: '' }).expect(400);
      record(res, '/v1/guardians');
      await t.http.get('/health/live').expect(200);
      await t.http.get('/health/ready').expect(200);
      await t.http.get('/metrics').expect(200);
    } finally {
      await t.close();
    }
    // pino.destination(sync: false) writes asynchronously: wait until the last request's line is in the file.
    const deadline = Date.now() + 10_000;
    const last = sent[sent.length - 1].id;
    do {
      raw = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (raw.includes(last)) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < deadline);
    lines = raw
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one JSON object per line to LOG_FILE', () => {
    expect(raw.endsWith('\n')).toBe(true);
    // Request lines, and the application's own lines through the same logger.
    expect(lines.filter((l) => !l.req).length).toBeGreaterThan(0);
    expect(lines.some((l) => l.msg === 'operator key loaded from ADMIN_API_KEY')).toBe(true);
    for (const line of lines) {
      expect(line).toMatchObject({ service: 'teddy-scheduler', level: expect.any(Number), time: expect.any(String) });
    }
  });

  it('logs every request once with its request id, the same as the X-Request-Id header', () => {
    const requestLines = lines.filter((l) => l.req);
    for (const { id, url, status } of sent) {
      expect(id).toBeTruthy();
      const mine = requestLines.filter((l) => l.req.id === id);
      expect(mine).toHaveLength(1);
      expect(mine[0].req.url).toContain(url);
      expect(mine[0].res.statusCode).toBe(status);
    }
    expect(sent.map((s) => s.id)).toContain('log-test-operator');
    for (const line of requestLines) expect(typeof line.req.id).toBe('string');
  });

  it('masks e-mail addresses: the address never appears, its masked form does', () => {
    expect(raw.toLowerCase()).not.toContain('secret.parent');
    expect(raw).toContain('s***@example.com');
    const query = lines.find((l) => l.req?.url?.includes('?x='));
    expect(query?.req.url).toContain('x=s***@example.com');
    const encoded = lines.find((l) => l.req?.url?.includes('?email='));
    expect(encoded?.req.url).toContain('email=s***@example.com');
  });

  it('never writes an API key, from X-API-Key or Authorization: Bearer', () => {
    for (const key of Object.values(KEYS)) expect(raw).not.toContain(key);
    expect(raw.toLowerCase()).not.toContain('bearer ');
  });

  it('does not log probe and scrape requests', () => {
    const urls = lines.filter((l) => l.req).map((l) => String(l.req.url));
    expect(urls.length).toBeGreaterThanOrEqual(sent.length);
    expect(urls.filter((u) => u.startsWith('/health') || u.startsWith('/metrics'))).toEqual([]);
  });
});

describe('observability: unhandled errors', () => {
  let t: TestApp;
  let dir: string;
  let logFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'teddy-log-'));
    logFile = join(dir, 'teddy_system.log');
    t = await startApp({ env: { LOG_FILE: logFile, LOG_LEVEL: 'error' } });
    t.app.flushLogs();
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a bare 500 without internals and counts it as an http application error', async () => {
    const { conversationId } = await family(t);
    await t.http.get(`/v1/conversations/${conversationId}/messages`).set(t.as('ingest')).expect(200);
    const before = valueOf(await scrape(t), ERRORS, { type: 'http' });

    await t.dataSource.query(TEST_DB === 'postgres' ? 'DROP TABLE message CASCADE' : 'DROP TABLE message');
    const res = await t.http.get(`/v1/conversations/${conversationId}/messages`).set(t.as('ingest')).expect(500);

    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ statusCode: 500, error: 'Internal Server Error', message: 'internal server error' });
    expect(Object.keys(res.body).sort()).toEqual(expect.arrayContaining(['error', 'message', 'statusCode']));
    for (const key of Object.keys(res.body)) expect(['statusCode', 'error', 'message', 'requestId']).toContain(key);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
    expect(res.text).not.toMatch(/stack|no such table|relation|SQLITE|QueryFailedError|\.ts:\d+|at \w+ \(/i);

    const after = valueOf(await scrape(t), ERRORS, { type: 'http' });
    expect(after - before).toBe(1);
    // The 500 is timed under its route pattern too.
    expect(
      valueOf(await scrape(t), `${HISTOGRAM}_count`, {
        method: 'GET',
        route: '/v1/conversations/:conversationId/messages',
        status_code: '500',
      }),
    ).toBeGreaterThanOrEqual(1);

    // The cause is logged server-side, with its stack and the request id the client was given.
    let logged: Record<string, any> | undefined;
    const deadline = Date.now() + 10_000;
    while (!logged && Date.now() < deadline) {
      const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      logged = text
        .split('\n')
        .filter((l) => l.includes(res.body.requestId))
        .map((l) => JSON.parse(l))
        .find((l) => l.err);
      if (!logged) await new Promise((r) => setTimeout(r, 50));
    }
    expect(logged).toMatchObject({ level: 50, req: { id: res.body.requestId } });
    expect(logged!.err.stack).toEqual(expect.stringContaining('\n    at '));
  });
});

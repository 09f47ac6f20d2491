import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { resolve } from 'node:path';
import { sqlitePath } from '../src/database/data-source';
import { startApp } from './support/app';
import { scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';
import { newFamily } from './support/factories';
import { openSqlite } from './support/sqlite-file';
import { ServiceProcess, startServices, waitFor } from './support/service-process';

const CLI = resolve(__dirname, '../dist/src/cli/job.js');
const DAY = 86_400_000;
const sqliteTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** SQLite alone: several processes on one file is the embedded default's own problem. */
const onSqlite = TEST_DB === 'sqlite' ? describe : describe.skip;

interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `npm run job -- <args>` as the README gives it, on the service's file, beside the running service. */
function cli(databaseUrl: string, args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl, LOG_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return { child, done: new Promise((done) => child.on('exit', (code) => done({ code, stdout, stderr }))) };
}

/**
 * Families written straight into the file (the service must be up: its migrations made the schema):
 * `guardians` guardians, each with a child and one conversation, and `expired` messages `ageDays`
 * old spread over them. Answers the conversation ids.
 */
function seed(file: string, options: { guardians: number; expired: number; ageDays: number; prefix: number }): string[] {
  const db = openSqlite(file);
  db.pragma('busy_timeout = 10000');
  const created = sqliteTime(Date.now() - options.ageDays * DAY);
  const uuid = (kind: number, expr: string) => `printf('%08x-0000-4000-8000-%012x', ${options.prefix * 16 + kind}, ${expr})`;
  const upTo = (n: number) => `WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n})`;
  const g = options.guardians;
  const messages =
    options.expired === 0
      ? ''
      : `${upTo(options.expired)} INSERT INTO message (id, conversation_id, role, text, created_at)
      SELECT ${uuid(4, 'i')}, ${uuid(3, `(i - 1) % ${g} + 1`)}, 'child', 'a story about a dragon, number ' || i, '${created}' FROM s;`;
  db.exec(`BEGIN IMMEDIATE;
    ${upTo(g)} INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at)
      SELECT ${uuid(1, 'i')}, 'p${options.prefix}-' || i || '@example.com', 'P' || i, 'en', NULL, 1, '${created}' FROM s;
    ${upTo(g)} INSERT INTO child (id, guardian_id, display_name, created_at) SELECT ${uuid(2, 'i')}, ${uuid(1, 'i')}, 'C' || i, '${created}' FROM s;
    ${upTo(g)} INSERT INTO conversation (id, child_id, started_at, created_at) SELECT ${uuid(3, 'i')}, ${uuid(2, 'i')}, '${created}', '${created}' FROM s;
    ${messages}
    COMMIT;`);
  const ids = db
    .prepare(`SELECT id FROM conversation WHERE id LIKE '${(options.prefix * 16 + 3).toString(16).padStart(8, '0')}-%'`)
    .all() as { id: string }[];
  db.close();
  return ids.map((r) => r.id);
}

/** Clients appending messages to young conversations until stopped, counting every answer by status. */
function ingest(service: ServiceProcess, conversations: string[], clients: number) {
  const statuses: Record<number, number> = {};
  const failures: string[] = [];
  let running = true;
  const client = async (n: number) => {
    for (let i = 0; running; i++) {
      const id = conversations[(n + i * clients) % conversations.length];
      const answer = await service.request('POST', `/v1/conversations/${id}/messages`, { role: 'child', text: `live ${n}.${i}` }, 'ingest');
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status >= 500 && failures.length < 5) failures.push(JSON.stringify(answer.body));
    }
  };
  const all = Promise.all(Array.from({ length: clients }, (_, n) => client(n)));
  return {
    statuses,
    failures,
    stop: async () => {
      running = false;
      await all;
    },
  };
}

onSqlite('several processes on one SQLite file', () => {
  const started: ServiceProcess[] = [];
  let database: ScratchDatabase;

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  });
  beforeEach(async () => {
    database = await scratchDatabase('sqlite');
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop()));
    await database.drop();
  });

  it('the command line cleans up beside the running service under ingest: no 5xx, a second run exits 3, the HTTP trigger answers 409', async () => {
    const [service] = await startServices(['service'], { databaseUrl: database.url }, started);
    const file = sqlitePath(database.url);
    const expired = 120_000;
    seed(file, { guardians: 500, expired, ageDays: 40, prefix: 1 });
    const young = seed(file, { guardians: 50, expired: 0, ageDays: 1, prefix: 2 });
    const load = ingest(service, young, 8);

    // Small batches make the run long enough for the others to meet it running (about 1,200 batches).
    const first = cli(database.url, ['daily_data_cleanup'], { CLEANUP_BATCH_SIZE: '100' });
    const running = await waitFor(
      'the command line run to show in the ledger',
      async () => {
        const page = await service.request('GET', '/admin/scheduler/jobs/daily_data_cleanup/runs?status=running');
        return page.body?.items?.find((r: { trigger: string }) => r.trigger === 'cli');
      },
      30_000,
      20,
    );
    const [second, trigger] = await Promise.all([
      cli(database.url, ['daily_data_cleanup']).done,
      service.request('POST', '/admin/scheduler/cleanup/trigger', {}),
    ]);
    const stillRunning = await service.request('GET', `/admin/scheduler/runs/${running.id}`);
    const firstDone = await first.done;
    await load.stop();

    expect(stillRunning.body.status).toBe('running'); // else the two below did not meet the run: seed more
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(running.id);
    expect(trigger.status).toBe(409);
    expect(firstDone.code).toBe(0);
    expect(JSON.parse(firstDone.stdout).run).toMatchObject({ id: running.id, status: 'succeeded', summary: { messagesDeleted: expired } });
    expect(load.failures).toEqual([]);
    expect(Object.keys(load.statuses)).toEqual(['201']);
    expect(load.statuses[201]).toBeGreaterThan(0);

    const db = openSqlite(file, { readonly: true });
    try {
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      expect(count(`SELECT COUNT(*) AS n FROM message WHERE created_at <= '${sqliteTime(Date.now() - 30 * DAY)}'`)).toBe(0);
      expect(count(`SELECT COUNT(*) AS n FROM message`)).toBe(load.statuses[201]);
    } finally {
      db.close();
    }
  });

  it('two services on one file: each guardian gets one notice and one delivery when both run the notice job at once', async () => {
    const received: string[] = [];
    const hook: Server = createServer((req: IncomingMessage, res) => {
      received.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((done) => hook.listen(0, '127.0.0.1', done));
    try {
      const port = (hook.address() as { port: number }).port;
      const env = {
        NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${port}/hook`,
        NOTIFY_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
        NOTICE_POLL_SECONDS: '1',
        NOTICE_BATCH_SIZE: '7',
        CLEANUP_CRON: '0 0 * * *',
      };
      const [a, b] = await startServices(['a', 'b'], { databaseUrl: database.url, env }, started);
      // Messages 29.5 days old leave at one of the next two midnights' cleanups, within the NOTICE_DAYS_BEFORE window.
      const guardians = 60;
      seed(sqlitePath(database.url), { guardians, expired: guardians * 3, ageDays: 29.5, prefix: 3 });

      const answers = await Promise.all([a, b, a, b].map((s) => s.request('POST', '/admin/notifications/trigger', {})));
      expect(answers.map((x) => x.status).filter((s) => s !== 200 && s !== 409)).toEqual([]);
      await waitFor('a delivery for every guardian', async () => new Set(received).size >= guardians, 30_000);
      // Both pollers keep polling: a duplicate would show within a few of their rounds.
      await new Promise((done) => setTimeout(done, 3000));

      expect(new Set(received).size).toBe(guardians);
      expect(received).toHaveLength(guardians);
      const db = openSqlite(sqlitePath(database.url), { readonly: true });
      try {
        const rows = db.prepare('SELECT guardian_id, COUNT(*) AS n, MIN(status) AS status FROM notice GROUP BY guardian_id').all() as {
          n: number;
          status: string;
        }[];
        expect(rows).toHaveLength(guardians);
        expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      } finally {
        db.close();
      }
    } finally {
      await new Promise((done) => hook.close(done));
    }
  });
});

onSqlite('a write that cannot have the SQLite write lock', () => {
  it('waits for it without freezing the service, and past DB_BUSY_TIMEOUT_MS answers 503 with Retry-After, writing nothing', async () => {
    const database = await scratchDatabase('sqlite');
    const t = await startApp({ database, env: { DB_BUSY_TIMEOUT_MS: '400' } });
    const holder = openSqlite(sqlitePath(database.url));
    try {
      const family = await newFamily(t);
      const post = (text: string) =>
        t.http.post(`/v1/conversations/${family.conversationId}/messages`).set(t.as('ingest')).send({ role: 'child', text });

      // Another process holds the write lock past the timeout.
      holder.exec('BEGIN IMMEDIATE');
      const order: string[] = [];
      const refused = post('never stored').then((res) => (order.push('write'), res));
      const live = await t.http.get('/health/live').expect(200);
      order.push('live');
      const res = await refused;
      expect(live.body).toBeDefined();
      expect(order).toEqual(['live', 'write']); // the event loop answered while the write waited
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect(res.body.message).toMatch(/busy.*nothing was written/);
      holder.exec('ROLLBACK');

      // Held for less than the timeout: the write waits and goes through.
      holder.exec('BEGIN IMMEDIATE');
      const waited = post('stored after a wait');
      setTimeout(() => holder.exec('ROLLBACK'), 150);
      expect((await waited).status).toBe(201);

      const list = await t.http.get(`/v1/conversations/${family.conversationId}/messages`).set(t.as('ingest')).expect(200);
      expect(list.body.items.map((m: { text: string }) => m.text)).toEqual(['stored after a wait']);
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
      await t.close();
      await database.drop();
    }
  });

  it('takes the lock at BEGIN: a transaction that reads and then writes never fails at once with SQLITE_BUSY', async () => {
    const database = await scratchDatabase('sqlite');
    const t = await startApp({ database });
    try {
      const family = await newFamily(t);
      // Another process writing in a loop while the service appends: a deferred transaction that had
      // read before the other's commit would get SQLITE_BUSY_SNAPSHOT on its first write.
      const script = `const db = new (require('better-sqlite3'))(process.argv[1], { timeout: 5000 });
        const until = Date.now() + 30000;
        const write = () => { db.prepare("UPDATE guardian SET display_name = ? WHERE id = ?").run(String(Math.random()), process.argv[2]);
          if (Date.now() < until) setTimeout(write, 1); };
        write();`;
      const other = spawn(process.execPath, ['-e', script, sqlitePath(database.url), family.guardianId], {
        cwd: resolve(__dirname, '..'),
        stdio: 'ignore',
      });
      try {
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            t.http
              .post(`/v1/conversations/${family.conversationId}/messages`)
              .set(t.as('ingest'))
              .send({ role: 'child', text: `m${i}` })
              .then((r) => r.status),
          ),
        );
        expect(other.exitCode).toBeNull(); // it wrote all along
        expect(answers.filter((s) => s !== 201)).toEqual([]);
      } finally {
        other.kill();
      }
    } finally {
      await t.close();
      await database.drop();
    }
  });
});

import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { CleanupService } from '../src/cleanup/cleanup.service';
import { FixedClock } from '../src/common/clock';
import { dataSourceOptions, MIGRATIONS } from '../src/database/data-source';
import { FenceLost, WriteFence } from '../src/database/write-fence';
import { messageIdTime } from '../src/records/message-id';
import { JobRun } from '../src/scheduler/job-run.entity';
import { SchedulerService } from '../src/scheduler/scheduler.service';
import { startApp, TestApp } from './support/app';
import { scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';
import { addMessages, ensurePartitions, iso, newConversation, newFamily } from './support/factories';

const DAY = 86_400_000;
// Midnight: the cutoff falls on a day boundary, as it does for the scheduled cleanup.
const RUN_AT = Date.parse('2026-11-29T00:00:00.000Z');
const CUTOFF = RUN_AT - 30 * DAY; // 2026-10-30T00:00:00Z

const onPostgres = TEST_DB === 'postgres' ? describe : describe.skip;

/** The day partitions attached to message, by name. */
async function attached(ds: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await ds.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'message'::regclass ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/** Every table that holds or held message rows: the partitions, and any message_p* table left detached. */
async function messageTables(ds: DataSource): Promise<string[]> {
  const rows: { name: string }[] = await ds.query(
    `SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname ~ '^message' AND relnamespace = 'public'::regnamespace ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

/** Rows at or before `cutoff` in any table that holds messages, attached or not. */
async function expiredAnywhere(ds: DataSource, cutoff: number): Promise<number> {
  let n = 0;
  for (const table of await messageTables(ds)) {
    const [row] = await ds.query(`SELECT count(*) AS n FROM "${table}" WHERE created_at <= $1`, [new Date(cutoff)]);
    n += Number(row.n);
  }
  return n;
}

const count = async (ds: DataSource, sql: string, params: unknown[] = []) => Number((await ds.query(sql, params))[0].n);

onPostgres('message partitions (PostgreSQL)', () => {
  describe('the cleanup drops whole expired days', () => {
    const clock = new FixedClock(new Date(RUN_AT));
    let t: TestApp;
    let cleanup: CleanupService;

    beforeAll(async () => {
      t = await startApp({ clock, env: { CLEANUP_BATCH_SIZE: '100', PARTITION_DETACH_TIMEOUT_MS: '2000' } });
      cleanup = t.app.get(CleanupService);
    });
    afterAll(() => t.close());

    it('stores a message from any date the API accepts, creating its day on demand', async () => {
      const fam = await newFamily(t, { startedAt: iso(RUN_AT - DAY) });
      await addMessages(t, fam.conversationId, ['1970-01-01T00:00:00.000Z', '2001-02-03T04:05:06.789Z', iso(RUN_AT)]);
      expect(await attached(t.dataSource)).toEqual(expect.arrayContaining(['message_p19700101', 'message_p20010203', 'message_p20261129']));
      expect(await count(t.dataSource, `SELECT count(*) AS n FROM message WHERE conversation_id = $1`, [fam.conversationId])).toBe(3);
      // Both long expired: the next run drops their days whole, and says what they held.
      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report.partitions).toEqual([
        expect.objectContaining({
          name: 'message_p19700101',
          from: '1970-01-01T00:00:00.000Z',
          to: '1970-01-02T00:00:00.000Z',
          messages: 1,
        }),
        expect.objectContaining({ name: 'message_p20010203', messages: 1 }),
      ]);
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 2, batches: 0 });
      expect(await messageTables(t.dataSource)).not.toContain('message_p19700101');
    });

    it('drops the days before the cutoff, deletes the boundary day up to the cutoff in batches, keeps the rest', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 2 * DAY) });
      const day28 = Array.from({ length: 250 }, (_, i) => iso(CUTOFF - 2 * DAY + i * 1000));
      await addMessages(t, fam.conversationId, [...day28, iso(CUTOFF - 1), iso(CUTOFF), iso(CUTOFF + 1)]);
      const preview = await t.http
        .get(`/admin/data/preview?at=${iso(RUN_AT)}`)
        .set(t.as('viewer'))
        .expect(200);
      expect(preview.body.counts.messages).toBe(252);

      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 252, conversationsDeleted: 0, cutoff: new Date(CUTOFF) });
      expect(report.partitions?.map((p) => [p.name, p.messages])).toEqual([
        ['message_p20261028', 250],
        ['message_p20261029', 1],
      ]);
      // The row exactly at the cutoff was the boundary day's: one batch.
      expect(report.batches).toBe(1);
      const left: { created_at: Date }[] = await t.dataSource.query(`SELECT created_at FROM message WHERE conversation_id = $1`, [
        fam.conversationId,
      ]);
      expect(left.map((r) => r.created_at.toISOString())).toEqual([iso(CUTOFF + 1)]);
      expect(await attached(t.dataSource)).toContain('message_p20261030');
      expect(await expiredAnywhere(t.dataSource, CUTOFF)).toBe(0);

      const listed = await t.http.get('/admin/cleanup/reports').set(t.as('viewer')).expect(200);
      expect(listed.body.items.find((r: { id: string }) => r.id === report.id).partitions).toHaveLength(2);
    });

    it('deletes a shorter-retention family in batches inside a day that is otherwise kept', async () => {
      const standard = await newFamily(t, { startedAt: iso(RUN_AT - 10 * DAY) });
      const short = await newFamily(t, { retentionDays: 7, startedAt: iso(RUN_AT - 10 * DAY) });
      const day = RUN_AT - 9 * DAY + 3_600_000; // 2026-11-20T01:00Z: past the 7-day cutoff, well within 30 days
      await addMessages(t, standard.conversationId, [iso(day), iso(day + 1)]);
      await addMessages(t, short.conversationId, [iso(day), iso(day + 1), iso(RUN_AT - 7 * DAY), iso(RUN_AT - 7 * DAY + 1)]);
      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 3, partitions: null });
      const left = (id: string) => count(t.dataSource, `SELECT count(*) AS n FROM message WHERE conversation_id = $1`, [id]);
      expect(await left(standard.conversationId)).toBe(2);
      expect(await left(short.conversationId)).toBe(1);
      expect(await attached(t.dataSource)).toContain('message_p20261120');
    });

    it('drops a partition a stopped run left detached, and counts it', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 5 * DAY) });
      await addMessages(t, fam.conversationId, [iso(CUTOFF - 5 * DAY), iso(CUTOFF - 5 * DAY + 1), iso(CUTOFF - 4 * DAY)]);
      // As if a run had died between its DETACH and its DROP.
      await t.dataSource.query(`ALTER TABLE message DETACH PARTITION message_p20261025`);
      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report.partitions?.map((p) => [p.name, p.messages])).toEqual([
        ['message_p20261025', 2],
        ['message_p20261026', 1],
      ]);
      expect(report).toMatchObject({ messagesDeleted: 3, conversationsDeleted: 1 });
      expect(await messageTables(t.dataSource)).not.toContain('message_p20261025');
      expect(await expiredAnywhere(t.dataSource, CUTOFF)).toBe(0);
    });

    it('does not wait for good on a transaction that still reads the table: fails naming it, and the next run drops the day', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 15 * DAY) });
      await addMessages(t, fam.conversationId, [iso(CUTOFF - 15 * DAY), iso(CUTOFF - 15 * DAY + 1)]);
      const reader = new Client({ connectionString: t.database.url, application_name: 'a long report' });
      await reader.connect();
      try {
        await reader.query('BEGIN');
        await reader.query('SELECT count(*) FROM message');
        const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
        // The rest of the run was done: the day's rows are out of sight (half-detached), so the
        // conversation they filled went, empty, with the batches.
        expect(report).toMatchObject({ status: 'failed', messagesDeleted: 0, conversationsDeleted: 1 });
        expect(report.error).toMatch(
          /^message_p20261015 could not be detached within PARTITION_DETACH_TIMEOUT_MS, held up by pid \d+ \(idle in transaction, a long report/,
        );
        await reader.query('COMMIT');
      } finally {
        await reader.end();
      }
      const next = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(next).toMatchObject({ status: 'succeeded', messagesDeleted: 2, conversationsDeleted: 0 });
      expect(next.partitions?.map((p) => [p.name, p.messages])).toEqual([['message_p20261015', 2]]);
      expect(await messageTables(t.dataSource)).not.toContain('message_p20261015');
      expect(await expiredAnywhere(t.dataSource, CUTOFF)).toBe(0);
    });

    it('drops nothing once the run no longer holds its fence (its lease), and says so', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 20 * DAY) });
      await addMessages(t, fam.conversationId, [iso(CUTOFF - 20 * DAY), iso(CUTOFF - 19 * DAY)]);
      const lost = new FenceLost('run r1 lost its lease');
      const fence: WriteFence = { signal: new AbortController().signal, condition: () => '1 = 0', check: () => Promise.reject(lost) };
      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test', fence });
      expect(report).toMatchObject({ status: 'abandoned', messagesDeleted: 0, partitions: null });
      expect(report.error).toMatch(/lost its lease/);
      expect(await attached(t.dataSource)).toEqual(expect.arrayContaining(['message_p20261010', 'message_p20261011']));
      const next = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(next.partitions?.map((p) => p.name)).toEqual(['message_p20261010', 'message_p20261011']);
    });

    it('leaves no expired row in any table while ingest runs beside it, and loses no young one', async () => {
      const families = await Promise.all(Array.from({ length: 4 }, () => newFamily(t, { startedAt: iso(CUTOFF - 12 * DAY) })));
      // Ten expired days and the ten after the cutoff, 40 messages a day per family.
      const times = (from: number) => Array.from({ length: 10 * 40 }, (_, i) => iso(from + Math.floor(i / 40) * DAY + (i % 40) * 60_000));
      for (const f of families) await addMessages(t, f.conversationId, [...times(CUTOFF - 10 * DAY), ...times(CUTOFF + 1)]);
      const youngBefore = await count(t.dataSource, `SELECT count(*) AS n FROM message WHERE created_at > $1`, [new Date(CUTOFF)]);

      let running = true;
      let appended = 0;
      const ingest = (async () => {
        for (let i = 0; running || i < 5; i++) {
          const f = families[i % families.length];
          // Young messages, one 1 ms past the cutoff, and a backdated one into a kept day.
          await addMessages(t, f.conversationId, [iso(CUTOFF + 1), iso(RUN_AT - i), iso(CUTOFF + 3 * DAY + i)]);
          appended += 3;
        }
      })();
      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      running = false;
      await ingest;

      expect(report.status).toBe('succeeded');
      expect(report.partitions?.length).toBe(10);
      expect(report.messagesDeleted).toBe(4 * 400);
      expect(await expiredAnywhere(t.dataSource, CUTOFF)).toBe(0);
      const youngAfter = await count(t.dataSource, `SELECT count(*) AS n FROM message WHERE created_at > $1`, [new Date(CUTOFF)]);
      expect(youngAfter).toBe(youngBefore + appended);
      // The conversations still hold young messages.
      for (const f of families) await t.http.get(`/v1/conversations/${f.conversationId}/messages`).set(t.as('ingest')).expect(200);
    });
  });

  describe('backdated imports and ids', () => {
    const clock = new FixedClock(new Date(RUN_AT));
    let t: TestApp;

    beforeAll(async () => {
      t = await startApp({ clock });
    });
    afterAll(() => t.close());

    it('creates a missing day once when two clients import into it at the same moment', async () => {
      const [a, b] = await Promise.all([newFamily(t), newFamily(t)]);
      const day = Date.parse('2026-11-10T00:00:00.000Z');
      expect(await attached(t.dataSource)).not.toContain('message_p20261110');
      const batch = (offset: number) => Array.from({ length: 50 }, (_, i) => iso(day + offset + i * 1000));
      // Each client also needs a day of its own and one they share, in one batch.
      await Promise.all([
        addMessages(t, a.conversationId, [...batch(0), iso(day - DAY + 5), iso(day + DAY + 5)]),
        addMessages(t, b.conversationId, [...batch(500), iso(day - DAY + 7), iso(day + 2 * DAY)]),
      ]);
      const names = await attached(t.dataSource);
      for (const name of ['message_p20261109', 'message_p20261110', 'message_p20261111', 'message_p20261112']) {
        expect(names.filter((n) => n === name)).toHaveLength(1);
      }
      expect(await count(t.dataSource, `SELECT count(*) AS n FROM message_p20261110`)).toBe(100);
      expect(await count(t.dataSource, `SELECT count(*) AS n FROM message_p20261109`)).toBe(2);
    });

    it('gives each message a version-7 id holding its created_at, and stores a client id of any version as sent', async () => {
      const fam = await newFamily(t);
      const at = '2026-11-12T08:09:10.123Z';
      const res = await t.http
        .post(`/v1/conversations/${fam.conversationId}/messages`)
        .set(t.as('ingest'))
        .send({ role: 'child', text: 'hello', createdAt: at })
        .expect(201);
      expect(messageIdTime(res.body.id)?.toISOString()).toBe(at);
      const insert = (id: string, createdAt: string) =>
        t.dataSource.query(`INSERT INTO message (id, conversation_id, role, text, created_at) VALUES ($1, $2, 'child', 'x', $3)`, [
          id,
          fam.conversationId,
          createdAt,
        ]);
      // The same id again: its time puts it in the same partition, whose primary key refuses it.
      await expect(insert(res.body.id, at)).rejects.toThrow(/duplicate key value violates unique constraint/);
      // A client's version-7 id made at another instant than the message's created_at.
      const clientV7 = '0193a1f2-7c4e-7d2a-9b1c-5e8f2a4d6c10';
      const stored = await t.http
        .post(`/v1/conversations/${fam.conversationId}/messages`)
        .set(t.as('ingest'))
        .send({ id: clientV7, role: 'child', text: 'hello', createdAt: at })
        .expect(201);
      expect(stored.body.id).toBe(clientV7);
      // Random (version 4) ids are accepted too.
      await insert('0b7d6a3e-55c4-4c1e-9f5b-0d7f3f7c9a11', at);
    });

    it('erases a family with a message committed while the erasure waited for it', async () => {
      const fam = await newFamily(t);
      await addMessages(t, fam.conversationId, [iso(RUN_AT - DAY)]);
      await ensurePartitions(t.dataSource, new Date(RUN_AT));
      const other = new Client({ connectionString: t.database.url });
      await other.connect();
      try {
        // An append in flight, as the service makes it: the conversation locked FOR KEY SHARE, a row inserted.
        await other.query('BEGIN');
        await other.query(`SELECT 1 FROM conversation WHERE id = $1 FOR KEY SHARE`, [fam.conversationId]);
        await other.query(
          `INSERT INTO message (id, conversation_id, role, text, created_at) VALUES (gen_random_uuid(), $1, 'child', 'late', $2)`,
          [fam.conversationId, new Date(RUN_AT)],
        );
        const erasure = t.http
          .delete(`/v1/guardians/${fam.guardianId}`)
          .set(t.as('ingest'))
          .then((r) => r);
        await new Promise((r) => setTimeout(r, 300));
        await other.query('COMMIT');
        const res = await erasure;
        expect(res.status).toBe(200);
        expect(res.body.erased).toMatchObject({ messages: 2, conversations: 1 });
        expect(await count(t.dataSource, `SELECT count(*) AS n FROM message WHERE conversation_id = $1`, [fam.conversationId])).toBe(0);
      } finally {
        await other.end();
      }
    });

    it('answers 404 to an append into a conversation the cleanup deleted while the append waited', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      const other = new Client({ connectionString: t.database.url });
      await other.connect();
      try {
        // The cleanup's conversation batch, as it runs: the conversation locked FOR UPDATE, then deleted.
        await other.query('BEGIN');
        await other.query(`SELECT id FROM conversation WHERE id = $1 FOR UPDATE`, [fam.conversationId]);
        const append = t.http
          .post(`/v1/conversations/${fam.conversationId}/messages`)
          .set(t.as('ingest'))
          .send({ role: 'child', text: 'too late' })
          .then((r) => r);
        await new Promise((r) => setTimeout(r, 300));
        await other.query(`DELETE FROM conversation WHERE id = $1`, [fam.conversationId]);
        await other.query('COMMIT');
        expect((await append).status).toBe(404);
        expect(await count(t.dataSource, `SELECT count(*) AS n FROM message WHERE conversation_id = $1`, [fam.conversationId])).toBe(0);
      } finally {
        await other.end();
      }
    });
  });

  describe('the maintenance job', () => {
    const clock = new FixedClock(new Date('2026-11-28T10:00:00.000Z'));
    let database: ScratchDatabase;
    beforeAll(async () => {
      database = await scratchDatabase();
    });
    afterAll(() => database?.drop());

    it('is a stored job, and after downtime catches up once: today and the next PARTITION_PREMAKE_DAYS days exist', async () => {
      const first = await startApp({ clock, database, env: { PARTITION_PREMAKE_DAYS: '4' } });
      try {
        const jobs = await first.http.get('/admin/scheduler/jobs').set(first.as('viewer')).expect(200);
        expect(jobs.body.map((j: { id: string }) => j.id)).toContain('message_partitions');
      } finally {
        await first.close();
      }
      clock.set('2027-01-20T10:00:00.000Z');
      const t = await startApp({ clock, database, env: { PARTITION_PREMAKE_DAYS: '4' } });
      try {
        expect(await attached(t.dataSource)).not.toContain('message_p20270120');
        const engine = t.app.get(SchedulerService);
        await engine.tick();
        await engine.idle();
        const runs = await t.dataSource.getRepository(JobRun).find({ where: { jobId: 'message_partitions' } });
        expect(runs.map((r) => [r.trigger, r.status])).toEqual([['catch-up', 'succeeded']]);
        expect(runs[0].summary).toMatchObject({ created: 6, through: '2027-01-24T00:00:00.000Z' });
        expect(await attached(t.dataSource)).toEqual(
          expect.arrayContaining(['message_p20270119', 'message_p20270120', 'message_p20270121', 'message_p20270124']),
        );
      } finally {
        await t.close();
      }
    });
  });

  describe('the migration', () => {
    let database: ScratchDatabase;
    let ds: DataSource;
    beforeAll(async () => {
      database = await scratchDatabase();
      ds = await new DataSource(dataSourceOptions(database.url, 2)).initialize();
    });
    afterAll(async () => {
      await ds?.destroy();
      await database?.drop();
    });

    const fingerprint = async () =>
      (await ds.query(
        `SELECT count(*)::int AS n, md5(string_agg(id::text || conversation_id::text || role || text || created_at::text, ',' ORDER BY id)) AS sum FROM message`,
      )) as [{ n: number; sum: string }];
    /** Reverts the migrations newer than the conversion, then the conversion itself. */
    const undoThroughConversion = async () => {
      const conversion = MIGRATIONS.findIndex((m) => m.name === 'PartitionedMessages1764806400000');
      expect(conversion).toBeGreaterThan(0);
      for (let i = MIGRATIONS.length - 1; i >= conversion; i--) await ds.undoLastMigration({ transaction: 'each' });
    };
    const partitioned = async () => (await ds.query(`SELECT relkind FROM pg_class WHERE relname = 'message'`))[0].relkind === 'p';

    it('converts a populated table and reverts it, with no row lost or changed', async () => {
      await ds.runMigrations({ transaction: 'each' });
      await undoThroughConversion();
      expect(await partitioned()).toBe(false);
      await ds.query(`INSERT INTO guardian (id, email, display_name, created_at) VALUES (gen_random_uuid(), 'm@example.com', 'M', now())`);
      await ds.query(
        `INSERT INTO child (id, guardian_id, display_name, created_at) SELECT gen_random_uuid(), id, 'C', now() FROM guardian`,
      );
      await ds.query(
        `INSERT INTO conversation (id, child_id, started_at, created_at) SELECT gen_random_uuid(), c.id, now(), now() FROM child c, generate_series(1, 20)`,
      );
      // 6,000 messages over 60 days ending now, with microseconds, ties, and a few from long ago.
      await ds.query(
        `INSERT INTO message (id, conversation_id, role, text, created_at)
         SELECT gen_random_uuid(), (SELECT id FROM conversation ORDER BY id OFFSET (i % 20) LIMIT 1),
                CASE WHEN i % 2 = 0 THEN 'child' ELSE 'teddy' END, 'message ' || i,
                CASE WHEN i % 1000 = 0 THEN timestamptz '1999-12-31 23:59:59.999999+00' ELSE now() - (i % 60) * interval '1 day' - (i * 17) * interval '1 microsecond' END
         FROM generate_series(1, 6000) i`,
      );
      const before = await fingerprint();
      expect(before[0].n).toBe(6000);

      await ds.runMigrations({ transaction: 'each' });
      expect(await partitioned()).toBe(true);
      expect(await fingerprint()).toEqual(before);
      const days = Number(
        (await ds.query(`SELECT count(DISTINCT date_trunc('day', created_at AT TIME ZONE 'UTC')) AS n FROM message`))[0].n,
      );
      const partitions = Number((await ds.query(`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'message'::regclass`))[0].n);
      expect(partitions).toBeGreaterThanOrEqual(days);
      expect(Number((await ds.query(`SELECT count(*) AS n FROM message_p19991231`))[0].n)).toBe(6);
      const pk = await ds.query(
        `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'message'::regclass AND contype = 'p'`,
      );
      expect(pk[0].def).toBe('PRIMARY KEY (id, created_at)');

      await undoThroughConversion();
      expect(await partitioned()).toBe(false);
      expect(await fingerprint()).toEqual(before);
      const fk = await ds.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'message'::regclass AND contype = 'f'`);
      expect(fk).toEqual([{ conname: 'FK_message_conversation' }]);
      expect(await messageTablesOf(ds)).toEqual(['message']);
    });
  });
});

async function messageTablesOf(ds: DataSource): Promise<string[]> {
  return messageTables(ds);
}

describe(`message storage on ${TEST_DB}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ clock: new FixedClock(new Date(RUN_AT)) });
  });
  afterAll(() => t.close());

  it(
    TEST_DB === 'postgres' ? 'declares the partition job' : 'keeps one table on SQLite: no partition job, no partitions in a report',
    async () => {
      const jobs = await t.http.get('/admin/scheduler/jobs').set(t.as('viewer')).expect(200);
      const ids = jobs.body.map((j: { id: string }) => j.id);
      expect(ids.includes('message_partitions')).toBe(TEST_DB === 'postgres');
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 2 * DAY) });
      await newConversation(t, fam.childId, iso(CUTOFF - DAY));
      await addMessages(t, fam.conversationId, [iso(CUTOFF - DAY), iso(CUTOFF)]);
      const report = await t.app.get(CleanupService).run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 2, conversationsDeleted: 2 });
      if (TEST_DB === 'sqlite') expect(report.partitions).toBeNull();
      else expect(report.partitions).toEqual([expect.objectContaining({ name: 'message_p20261029', messages: 1 })]);
    },
  );
});

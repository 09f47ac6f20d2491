import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { BatchDeleter } from '../src/cleanup/batch-deleter.service';
import { CleanupService } from '../src/cleanup/cleanup.service';
import { FixedClock } from '../src/common/clock';
import { fromSqlTimestamp } from '../src/database/sql';
import { startApp, TestApp } from './support/app';
import { TEST_DB } from './support/databases';
import { addMessages, countRows, ensurePartitions, iso, newConversation, newFamily } from './support/factories';

const DAY = 86_400_000;
// At noon, not midnight: on PostgreSQL the rows due then lie in the boundary day and are deleted in
// batches, which is what this file tests on both databases. Whole expired days are dropped as
// partitions there (test/partitions.e2e-spec.ts).
const RUN_AT = Date.parse('2026-11-29T12:00:00.000Z');
const CUTOFF = RUN_AT - 30 * DAY; // 2026-10-30T12:00:00Z

async function messageTexts(ds: DataSource, conversationId: string): Promise<number> {
  const rows = await ds.query(`SELECT COUNT(*) AS n FROM message WHERE conversation_id = '${conversationId}'`);
  return Number(rows[0].n);
}

describe('cleanup', () => {
  describe('what a run deletes', () => {
    const clock = new FixedClock(new Date(RUN_AT));
    let t: TestApp;
    let cleanup: CleanupService;

    beforeAll(async () => {
      t = await startApp({ clock });
      cleanup = t.app.get(CleanupService);
    });
    afterAll(() => t.close());

    it('deletes a record exactly at the cutoff and 1 ms before, keeps one 1 ms after; shorter retention by its own cutoff', async () => {
      const standard = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      await addMessages(t, standard.conversationId, [iso(CUTOFF - 1), iso(CUTOFF), iso(CUTOFF + 1)]);
      const short = await newFamily(t, { retentionDays: 7, startedAt: iso(CUTOFF - DAY) });
      const shortCutoff = RUN_AT - 7 * DAY;
      await addMessages(t, short.conversationId, [iso(CUTOFF - 5), iso(shortCutoff - 1), iso(shortCutoff), iso(shortCutoff + 1)]);

      const preview = await t.http
        .get(`/admin/data/preview?at=${iso(RUN_AT)}`)
        .set(t.as('viewer'))
        .expect(200);
      expect(preview.body).toMatchObject({
        at: iso(RUN_AT),
        scheduled: false,
        cutoff: iso(CUTOFF),
        policy: { retentionDays: 30, shorter: [{ retentionDays: 7, cutoff: iso(shortCutoff) }] },
        counts: { messages: 5, conversations: 0 },
      });

      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 5, conversationsDeleted: 0, cutoff: new Date(CUTOFF) });
      const left = await t.dataSource.query(
        `SELECT created_at FROM message WHERE conversation_id IN ('${standard.conversationId}', '${short.conversationId}') ORDER BY created_at`,
      );
      expect(left).toHaveLength(2);
      expect(await messageTexts(t.dataSource, standard.conversationId)).toBe(1);
      expect(await messageTexts(t.dataSource, short.conversationId)).toBe(1);
    });

    it('deletes conversations left empty that started before the cutoff, and no others', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 10 * DAY) });
      await addMessages(t, fam.conversationId, [iso(CUTOFF - 9 * DAY), iso(CUTOFF - 8 * DAY)]);
      const oldButActive = await newConversation(t, fam.childId, iso(CUTOFF - 10 * DAY));
      await addMessages(t, oldButActive, [iso(CUTOFF - 9 * DAY), iso(RUN_AT - DAY)]);
      const youngEmpty = await newConversation(t, fam.childId, iso(CUTOFF + 1));
      const exactlyAtCutoffEmpty = await newConversation(t, fam.childId, iso(CUTOFF));

      const before = await t.http
        .get(`/admin/data/preview?at=${iso(RUN_AT)}`)
        .set(t.as('viewer'))
        .expect(200);
      const report = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(report.messagesDeleted).toBe(before.body.counts.messages);
      expect(report.conversationsDeleted).toBe(before.body.counts.conversations);
      expect(report.conversationsDeleted).toBe(2);

      const ids: { id: string }[] = await t.dataSource.query(`SELECT id FROM conversation WHERE child_id = '${fam.childId}'`);
      expect(ids.map((r) => r.id).sort()).toEqual([oldButActive, youngEmpty].sort());
      expect(exactlyAtCutoffEmpty).toBeDefined();
      expect(await messageTexts(t.dataSource, oldButActive)).toBe(1);
    });

    it('is harmless to rerun, and a dry run deletes nothing but counts the same', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      await addMessages(
        t,
        fam.conversationId,
        Array.from({ length: 20 }, (_, i) => iso(CUTOFF - i * 1000)),
      );
      const dry = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test', dryRun: true });
      expect(dry).toMatchObject({ status: 'succeeded', dryRun: true, messagesDeleted: 20, conversationsDeleted: 1 });
      expect(await messageTexts(t.dataSource, fam.conversationId)).toBe(20);
      const real = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(real).toMatchObject({ messagesDeleted: 20, conversationsDeleted: 1 });
      const again = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(again).toMatchObject({ status: 'succeeded', messagesDeleted: 0, conversationsDeleted: 0, batches: 0 });
    });

    it('counts deletions in teddy_cleanup_deleted_total{table}', async () => {
      const read = async () => {
        const text = (await t.http.get('/metrics').expect(200)).text;
        return Number(/^teddy_cleanup_deleted_total\{table="message"\} (\d+)$/m.exec(text)?.[1]);
      };
      const before = await read();
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      await addMessages(t, fam.conversationId, [iso(CUTOFF - 1), iso(CUTOFF - 2), iso(CUTOFF - 3)]);
      await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect((await read()) - before).toBe(3);
    });
  });

  describe('rows stored in an order unrelated to created_at (a large backdated import)', () => {
    const clock = new FixedClock(new Date(RUN_AT));
    const SHORT_CUTOFF = RUN_AT - 7 * DAY;
    /** A deterministic shuffle: the same layout on every run and both databases. */
    const shuffled = <T>(items: T[]): T[] => {
      let seed = 42;
      const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    };
    /** `n` times from `from` on, `step` ms apart, plus the edge cases around `edge`. */
    const times = (from: number, n: number, step: number, edge: number) => [
      ...Array.from({ length: n }, (_, i) => from + i * step),
      edge - 1,
      edge,
      edge + 1,
    ];

    /**
     * Both families' messages, inserted in shuffled order (100 per request, alternating families),
     * then one cleanup in batches of 100; what is left must be exactly what is younger than each
     * family's cutoff. Answers whether the run walked the table in storage order.
     */
    async function cleanUpShuffled(standardTimes: number[], shortTimes: number[]): Promise<boolean> {
      const t = await startApp({ clock, env: { CLEANUP_BATCH_SIZE: '100' } });
      try {
        const standard = await newFamily(t, { startedAt: iso(CUTOFF - 10 * DAY) });
        const short = await newFamily(t, { retentionDays: 7, startedAt: iso(CUTOFF - 10 * DAY) });
        const a = shuffled(standardTimes);
        const b = shuffled(shortTimes);
        for (let i = 0; i < Math.max(a.length, b.length); i += 100) {
          if (i < a.length) await addMessages(t, standard.conversationId, a.slice(i, i + 100).map(iso));
          if (i < b.length) await addMessages(t, short.conversationId, b.slice(i, i + 100).map(iso));
        }
        const deleter = t.app.get(BatchDeleter);
        const windows = jest.spyOn(deleter as unknown as { deleteRowidWindow: () => unknown }, 'deleteRowidWindow');
        const report = await t.app.get(CleanupService).run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
        const due = standardTimes.filter((x) => x <= CUTOFF).length + shortTimes.filter((x) => x <= SHORT_CUTOFF).length;
        expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: due });

        const left = async (conversationId: string) =>
          (await t.dataSource.query(`SELECT created_at FROM message WHERE conversation_id = '${conversationId}'`))
            .map((r: { created_at: unknown }) => fromSqlTimestamp(r.created_at)!.getTime())
            .sort((x: number, y: number) => x - y);
        const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
        expect(await left(standard.conversationId)).toEqual(sorted(standardTimes.filter((x) => x > CUTOFF)));
        expect(await left(short.conversationId)).toEqual(sorted(shortTimes.filter((x) => x > SHORT_CUTOFF)));
        return windows.mock.calls.length > 0;
      } finally {
        await t.close();
      }
    }

    it('deletes exactly what is at or before each cutoff when most of the table is due (SQLite walks it in storage order)', async () => {
      const walked = await cleanUpShuffled(
        times(CUTOFF - 3 * DAY, 1500, 4 * 60_000, CUTOFF), // 3 days before the cutoff to about 1 day after
        times(SHORT_CUTOFF - 2 * DAY, 500, 8 * 60_000, SHORT_CUTOFF),
      );
      expect(walked).toBe(TEST_DB === 'sqlite');
    });

    it('deletes exactly what is due when little of the table is (through the created_at index)', async () => {
      const walked = await cleanUpShuffled(
        times(CUTOFF - 60_000, 1500, 60_000, CUTOFF),
        times(SHORT_CUTOFF - 30_000, 500, 60_000, SHORT_CUTOFF),
      );
      expect(walked).toBe(false);
    });
  });

  describe('batches, crashes and concurrent writers', () => {
    const clock = new FixedClock(new Date(RUN_AT));
    let t: TestApp;
    let cleanup: CleanupService;

    beforeAll(async () => {
      t = await startApp({ clock, env: { CLEANUP_BATCH_SIZE: '100' } });
      cleanup = t.app.get(CleanupService);
    });
    afterAll(() => t.close());

    const expired = (n: number) => Array.from({ length: n }, (_, i) => iso(CUTOFF - 1000 - i));

    it('a crash after batch k leaves whole batches only, and the next run finishes the work', async () => {
      const errors = async () =>
        Number(
          /^teddy_application_errors_total\{type="scheduled_cleanup"\} (\d+)$/m.exec((await t.http.get('/metrics').expect(200)).text)?.[1],
        );
      const errorsBefore = await errors();
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      await addMessages(t, fam.conversationId, expired(1000));
      const crashed = await cleanup.run({
        at: new Date(RUN_AT),
        trigger: 'manual',
        triggeredBy: 'test',
        afterBatch: (k) => {
          if (k === 3) throw new Error('simulated crash after batch 3');
        },
      });
      expect(crashed).toMatchObject({ status: 'failed', messagesDeleted: 300, batches: 3, error: 'simulated crash after batch 3' });
      expect(await messageTexts(t.dataSource, fam.conversationId)).toBe(700);
      expect((await errors()) - errorsBefore).toBe(1);
      const finished = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(finished).toMatchObject({ status: 'succeeded', messagesDeleted: 700, conversationsDeleted: 1, batches: 8 });
      expect(await messageTexts(t.dataSource, fam.conversationId)).toBe(0);
      expect(finished.maxBatchMs).toBeGreaterThanOrEqual(0);
    });

    it('never deletes a message written during the run that is younger than the cutoff', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      await addMessages(t, fam.conversationId, expired(2000));
      const writers: Promise<unknown>[] = [];
      const run = cleanup.run({
        at: new Date(RUN_AT),
        trigger: 'manual',
        triggeredBy: 'test',
        afterBatch: (k) => {
          // Young messages, one of them only 1 ms younger than the cutoff, into the very conversation being emptied.
          writers.push(addMessages(t, fam.conversationId, [iso(CUTOFF + 1), iso(RUN_AT - k)]));
        },
      });
      const report = await run;
      await Promise.all(writers);
      expect(report.status).toBe('succeeded');
      expect(writers.length).toBeGreaterThanOrEqual(10);
      const young = await t.dataSource.query(`SELECT COUNT(*) AS n FROM message WHERE conversation_id = '${fam.conversationId}'`);
      expect(Number(young[0].n)).toBe(writers.length * 2);
      // The conversation held young messages while the run went on, so it stays.
      expect(await countRows(t, 'conversation')).toBeGreaterThanOrEqual(1);
      const again = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(again.messagesDeleted).toBe(0);
    });

    // On PostgreSQL a message can be committed by another connection between the cleanup's snapshot
    // and its delete of the (then empty) conversation. SQLite has one writer at a time, so there the
    // race cannot happen.
    (TEST_DB === 'postgres' ? it : it.skip)(
      'keeps a conversation, and the message, when a message lands in it during its delete',
      async () => {
        const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
        await addMessages(t, fam.conversationId, expired(3));
        const other = new Client({ connectionString: t.database.url });
        await other.connect();
        try {
          // An insert in flight: it holds a key-share lock on the conversation until it commits.
          await ensurePartitions(t.dataSource, new Date(RUN_AT - 1000));
          await other.query('BEGIN');
          await other.query(`SELECT 1 FROM conversation WHERE id = $1 FOR KEY SHARE`, [fam.conversationId]);
          await other.query(
            `INSERT INTO message (id, conversation_id, role, text, created_at) VALUES ($1, $2, 'child', 'still here', $3)`,
            [randomUUID(), fam.conversationId, new Date(RUN_AT - 1000)],
          );
          const run = cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
          await new Promise((r) => setTimeout(r, 500));
          await other.query('COMMIT');
          const report = await run;
          expect(report.status).toBe('succeeded');
          expect(report.messagesDeleted).toBe(3);
          const rows = await t.dataSource.query(`SELECT text FROM message WHERE conversation_id = '${fam.conversationId}'`);
          expect(rows).toEqual([{ text: 'still here' }]);
        } finally {
          await other.end();
        }
      },
    );

    it('finishes a run over rows with microsecond timestamps (written by SQL or older systems)', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      const kind = t.dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
      // PostgreSQL keeps microseconds; SQLite stores what it is given as text.
      await ensurePartitions(t.dataSource, new Date(CUTOFF - 3_600_000));
      for (let i = 0; i < 150; i++) {
        const at =
          kind === 'postgres'
            ? `'${iso(CUTOFF - 3_600_000).replace('Z', '')}${String(500 + i).padStart(3, '0')}Z'`
            : `'${iso(CUTOFF - 3_600_000 - i)
                .replace('T', ' ')
                .replace('Z', '')}'`;
        await t.dataSource.query(
          `INSERT INTO message (id, conversation_id, role, text, created_at) VALUES ('${randomUUID()}', '${fam.conversationId}', 'child', 'old', ${at})`,
        );
      }
      for (let i = 0; i < 60; i++) {
        const at =
          kind === 'postgres'
            ? `'${iso(CUTOFF - 2 * DAY).replace('Z', '')}${String(100 + i).padStart(3, '0')}Z'`
            : `'${iso(CUTOFF - 2 * DAY - i)
                .replace('T', ' ')
                .replace('Z', '')}'`;
        await t.dataSource.query(
          `INSERT INTO conversation (id, child_id, started_at, created_at) VALUES ('${randomUUID()}', '${fam.childId}', ${at}, ${at})`,
        );
      }
      let timer: NodeJS.Timeout | undefined;
      const report = await Promise.race([
        cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' }),
        new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error('the run did not finish in 15 s')), 15_000))),
      ]).finally(() => clearTimeout(timer));
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 150, conversationsDeleted: 61 });
    });

    it('keeps a conversation that a backdated import refills after the message phase, and deletes both next run', async () => {
      const fam = await newFamily(t, { startedAt: iso(CUTOFF - 3 * DAY) });
      const conversations = [fam.conversationId];
      for (let i = 1; i < 120; i++) conversations.push(await newConversation(t, fam.childId, iso(CUTOFF - 3 * DAY + i)));
      for (const id of conversations) await addMessages(t, id, [iso(CUTOFF - DAY)]);
      const last = conversations[conversations.length - 1];
      let refilled = false;
      const report = await cleanup.run({
        at: new Date(RUN_AT),
        trigger: 'manual',
        triggeredBy: 'test',
        afterBatch: async (_k, r) => {
          if (!refilled && r.conversationsDeleted > 0) {
            refilled = true;
            await addMessages(t, last, [iso(CUTOFF - 5 * DAY)]);
          }
        },
      });
      expect(refilled).toBe(true);
      expect(report).toMatchObject({ status: 'succeeded', messagesDeleted: 120, conversationsDeleted: 119 });
      expect(await messageTexts(t.dataSource, last)).toBe(1);
      const next = await cleanup.run({ at: new Date(RUN_AT), trigger: 'manual', triggeredBy: 'test' });
      expect(next).toMatchObject({ status: 'succeeded', messagesDeleted: 1, conversationsDeleted: 1 });
    });

    it('lets erasure (DELETE /v1/guardians/:id) through while a cleanup runs', async () => {
      const a = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      const b = await newFamily(t, { startedAt: iso(CUTOFF - DAY) });
      await addMessages(t, a.conversationId, expired(1500));
      await addMessages(t, b.conversationId, [...expired(500), iso(RUN_AT - DAY)]);
      let erased: { status: number; body: { erased: { messages: number } } } | undefined;
      const report = await cleanup.run({
        at: new Date(RUN_AT),
        trigger: 'manual',
        triggeredBy: 'test',
        afterBatch: async (k) => {
          if (k === 2) erased = await t.http.delete(`/v1/guardians/${b.guardianId}`).set(t.as('ingest'));
        },
      });
      expect(erased?.status).toBe(200);
      expect(report.status).toBe('succeeded');
      expect(report.messagesDeleted + erased!.body.erased.messages).toBe(2001);
      expect(await messageTexts(t.dataSource, a.conversationId)).toBe(0);
      expect(await messageTexts(t.dataSource, b.conversationId)).toBe(0);
      expect(await countRows(t, 'guardian')).toBeGreaterThan(0);
      await t.http.get(`/v1/conversations/${b.conversationId}/messages`).set(t.as('ingest')).expect(404);
    });
  });

  describe('admin API and reports', () => {
    const clock = new FixedClock(new Date('2026-11-28T12:00:00.000Z'));
    let t: TestApp;

    beforeAll(async () => {
      t = await startApp({ clock, env: { CLEANUP_REPORT_RETENTION_DAYS: '10' } });
    });
    afterAll(() => t.close());

    it('previews the next scheduled run by default, with a paged breakdown and the oldest record', async () => {
      const next = Date.parse('2026-11-29T00:00:00.000Z');
      const fams = [await newFamily(t), await newFamily(t), await newFamily(t)];
      for (const f of fams) await addMessages(t, f.conversationId, [iso(next - 31 * DAY), iso(next - 40 * DAY), iso(next - DAY)]);
      const page1 = await t.http.get('/admin/data/preview?limit=2').set(t.as('viewer')).expect(200);
      expect(page1.body).toMatchObject({
        at: '2026-11-29T00:00:00.000Z',
        scheduled: true,
        cutoff: iso(next - 30 * DAY),
        counts: { messages: 6, conversations: 0 },
        oldestMessageAt: iso(next - 40 * DAY),
        oldestMessageAgeSeconds: (Date.parse('2026-11-28T12:00:00.000Z') - (next - 40 * DAY)) / 1000,
      });
      expect(page1.body.breakdown.items).toHaveLength(2);
      expect(page1.body.breakdown.items[0]).toMatchObject({ messages: 2, conversationsWithExpiringMessages: 1, retentionDays: 30 });
      expect(page1.body.breakdown.nextOffset).toBe(2);
      const page2 = await t.http.get('/admin/data/preview?limit=2&offset=2').set(t.as('viewer')).expect(200);
      expect(page2.body.breakdown.items).toHaveLength(1);
      expect(page2.body.breakdown.nextOffset).toBeNull();
      const all = [...page1.body.breakdown.items, ...page2.body.breakdown.items].map((r: { childId: string }) => r.childId).sort();
      expect(all).toEqual(fams.map((f) => f.childId).sort());
    });

    it('runs from the trigger route for operators only, and answers with the report', async () => {
      await t.http.post('/admin/scheduler/cleanup/trigger').set(t.as('viewer')).send({}).expect(403);
      const dry = await t.http.post('/admin/scheduler/cleanup/trigger').set(t.as('operator')).send({ dryRun: true }).expect(200);
      expect(dry.body).toMatchObject({
        status: 'succeeded',
        dryRun: true,
        trigger: 'manual',
        triggeredBy: 'operator',
        scheduledFor: '2026-11-28T12:00:00.000Z',
      });
      expect(JSON.stringify(dry.body)).not.toContain('message 0');
      const res = await t.http
        .post('/admin/scheduler/cleanup/trigger')
        .set(t.as('operator'))
        .send({ at: '2026-11-28T00:00:00Z' })
        .expect(200);
      expect(res.body).toMatchObject({
        status: 'succeeded',
        dryRun: false,
        scheduledFor: '2026-11-28T00:00:00.000Z',
        cutoff: '2026-10-29T00:00:00.000Z',
      });
    });

    it('refuses bad trigger and preview input with a 400 naming the field', async () => {
      const future = await t.http
        .post('/admin/scheduler/cleanup/trigger')
        .set(t.as('operator'))
        .send({ at: '2026-11-28T12:00:00.001Z' })
        .expect(400);
      expect(future.body.message).toBe('at must not be in the future');
      const bad = await t.http.post('/admin/scheduler/cleanup/trigger').set(t.as('operator')).send({ dryRun: 'yes' }).expect(400);
      expect(bad.body.message).toContain('dryRun');
      expect((await t.http.get('/admin/data/preview?at=tomorrow').set(t.as('viewer')).expect(400)).body.message).toContain('at must be');
      expect((await t.http.get('/admin/data/preview?limit=0').set(t.as('viewer')).expect(400)).body.message).toContain('limit');
      expect((await t.http.get('/admin/cleanup/reports?status=done').set(t.as('viewer')).expect(400)).body.message).toContain('status');
    });

    it('lists reports newest first, filtered and paged; marks dead runs abandoned; purges reports past their retention', async () => {
      const ds = t.dataSource;
      const kind = ds.options.type === 'postgres' ? 'postgres' : 'sqlite';
      const ts = (ms: number) => (kind === 'postgres' ? new Date(ms) : iso(ms).replace('T', ' ').replace('Z', ''));
      const p = (i: number) => (kind === 'postgres' ? `$${i}` : '?');
      const insert = (id: string, status: string, startedMs: number) =>
        ds.query(
          `INSERT INTO cleanup_report (id, scheduled_for, trigger, triggered_by, dry_run, status, policy, cutoff, batch_size, started_at, heartbeat_at)
           VALUES (${p(1)}, ${p(2)}, 'scheduled', 'scheduler', ${kind === 'postgres' ? 'false' : '0'}, ${p(3)}, '{"retentionDays":30,"shorter":[]}', ${p(4)}, 5000, ${p(5)}, ${p(6)})`,
          [id, ts(startedMs), status, ts(startedMs - 30 * DAY), ts(startedMs), ts(startedMs)],
        );
      const now = clock.now().getTime();
      await insert('00000000-0000-4000-8000-00000000aaa1', 'running', now - DAY);
      await insert('00000000-0000-4000-8000-00000000aaa2', 'succeeded', now - 11 * DAY);

      await t.http.post('/admin/scheduler/cleanup/trigger').set(t.as('operator')).send({}).expect(200);

      const abandoned = await t.http.get('/admin/cleanup/reports?status=abandoned').set(t.as('viewer')).expect(200);
      expect(abandoned.body.items.map((r: { id: string }) => r.id)).toEqual(['00000000-0000-4000-8000-00000000aaa1']);
      expect(abandoned.body.items[0].error).toMatch(/stopped before it finished/);

      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: { id: string; startedAt: string }[]; nextCursor: string | null } } = await t.http
          .get('/admin/cleanup/reports')
          .query(cursor ? { limit: 1, cursor } : { limit: 1 })
          .set(t.as('viewer'))
          .expect(200);
        ids.push(...page.body.items.map((r) => r.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(ids).not.toContain('00000000-0000-4000-8000-00000000aaa2');
      expect(ids[ids.length - 1]).toBe('00000000-0000-4000-8000-00000000aaa1');
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(await countRows(t, 'cleanup_report'));
    });
  });
});

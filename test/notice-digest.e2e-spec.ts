import { CleanupService } from '../src/cleanup/cleanup.service';
import { FixedClock } from '../src/common/clock';
import { DeliveryService } from '../src/notifications/delivery.service';
import type { NoticeGroup } from '../src/notifications/notice.entity';
import { NoticeService } from '../src/notifications/notice.service';
import { JobCatalogue } from '../src/scheduler/job-catalogue';
import { SchedulerService } from '../src/scheduler/scheduler.service';
import { startApp, TestApp } from './support/app';
import { TEST_DB } from './support/databases';
import { SmtpSink } from './support/smtp-sink';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

interface NoticeBody {
  id: string;
  guardianId: string;
  seq: number;
  cleanupAt: string;
  status: string;
  sentAt: string | null;
  createdAt: string;
  messages: number;
  shortNotice: boolean;
  frequency: string;
  timeZone: string | null;
  groups: NoticeGroup[];
}

interface Family {
  guardianId: string;
  conversationId: string;
}

/** A guardian with one child and one conversation; `settings` as the app would send them. */
async function family(t: TestApp, email: string, settings: Record<string, unknown> = {}, child = 'Omar'): Promise<Family> {
  const ingest = t.as('ingest');
  const g = await t.http
    .post('/v1/guardians')
    .set(ingest)
    .send({ email, displayName: 'Parent', ...settings })
    .expect(201);
  const c = await t.http.post(`/v1/guardians/${g.body.id}/children`).set(ingest).send({ displayName: child }).expect(201);
  const v = await t.http
    .post(`/v1/children/${c.body.id}/conversations`)
    .set(ingest)
    .send({ startedAt: '2026-10-01T00:00:00Z' })
    .expect(201);
  return { guardianId: g.body.id, conversationId: v.body.id };
}

/** Messages said at the given times (omitted: now, as the toy sends them). */
async function say(t: TestApp, f: Family, createdAt: (string | undefined)[]): Promise<void> {
  const messages = createdAt.map((at, i) => ({
    role: i % 2 ? 'teddy' : 'child',
    text: `secret words ${i}`,
    ...(at ? { createdAt: at } : {}),
  }));
  await t.http.post(`/v1/conversations/${f.conversationId}/messages`).set(t.as('ingest')).send({ messages }).expect(201);
}

async function noticesOf(t: TestApp, guardianId: string): Promise<NoticeBody[]> {
  const res = await t.http.get('/admin/notifications').query({ guardianId, limit: 200 }).set(t.as('viewer')).expect(200);
  return (res.body.items as NoticeBody[]).reverse();
}

const enqueueAt = (t: TestApp, now: Date) => t.app.get(NoticeService).enqueue({ now, ...t.app.get(JobCatalogue).calendars() });
const datesOf = (n: NoticeBody) => n.groups.map((g) => `${g.date} ${g.messages}`);

describe(`digest notices on ${TEST_DB}`, () => {
  describe('30 days of a family that talks to Teddy every day (default schedules, through the scheduler)', () => {
    const start = Date.parse('2026-12-01T09:00:00.000Z');
    const clock = new FixedClock(new Date(start));
    let t: TestApp;
    let weekly: Family;
    let daily: Family;
    /** Every message said, by family: its created_at. */
    const said = new Map<string, number[]>();

    beforeAll(async () => {
      t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0' } });
      weekly = await family(t, 'weekly@example.com');
      daily = await family(t, 'daily@example.com', { locale: 'ar', noticeFrequency: 'each_run' }, 'سارة');
      // The month before, imported at once: two conversations' worth a day.
      for (const f of [weekly, daily]) {
        const history = Array.from({ length: 30 }, (_, i) => start - (30 - i) * DAY).flatMap((day) => [day + HOUR, day + 8 * HOUR]);
        await say(t, f, history.map(iso));
        said.set(f.guardianId, history);
      }
      const engine = t.app.get(SchedulerService);
      for (let day = 0; day < 30; day++) {
        const base = start + day * DAY;
        for (const at of [base + HOUR, base + 8 * HOUR]) {
          clock.set(iso(at));
          for (const f of [weekly, daily]) {
            await say(t, f, [undefined]);
            said.get(f.guardianId)!.push(at);
          }
        }
        // 23:00, the notice run; midnight, the cleanup.
        for (const at of [base + 14 * HOUR, base + 15 * HOUR]) {
          clock.set(iso(at));
          await engine.tick();
          await engine.idle();
        }
      }
    }, 180_000);
    afterAll(() => t.close());

    /** When the cleanup deletes a message: the first midnight (UTC) at or after created_at + 30 days. */
    const deletionOf = (created: number) => Math.ceil((created + 30 * DAY) / DAY) * DAY;

    it('sends a digest at most once a week (5 in 30 days), or one per run when the parent asks for each run (30)', async () => {
      const w = await noticesOf(t, weekly.guardianId);
      expect(w.map((n) => n.createdAt)).toEqual(
        ['2026-12-01', '2026-12-08', '2026-12-15', '2026-12-22', '2026-12-29'].map((d) => `${d}T23:00:00.000Z`),
      );
      expect(w.every((n) => n.status === 'sent' && n.frequency === 'digest')).toBe(true);
      // A week of deletions each (the first also takes the two days the import left no time for).
      expect(w.map((n) => new Set(n.groups.map((g) => g.date)).size)).toEqual([9, 7, 7, 7, 7]);
      const d = await noticesOf(t, daily.guardianId);
      expect(d).toHaveLength(30);
      expect(d.slice(1).every((n) => n.groups.length === 1 && n.frequency === 'each_run')).toBe(true);
    });

    it('announces every deletion exactly once, and at least NOTICE_DAYS_BEFORE ahead unless the data came later than that', async () => {
      const end = start + 30 * DAY;
      for (const f of [weekly, daily]) {
        const notices = await noticesOf(t, f.guardianId);
        const announced = new Map<number, number>();
        for (const n of notices) {
          for (const g of n.groups) {
            const at = Date.parse(g.deleteAt);
            announced.set(at, (announced.get(at) ?? 0) + g.messages);
            const lead = at - Date.parse(n.sentAt!);
            const arrived = Math.max(...said.get(f.guardianId)!.filter((c) => deletionOf(c) === at));
            // Data on hand 2 days before its deletion was told 2 days before it.
            if (at - arrived >= 2 * DAY && at - start >= 2 * DAY + HOUR) expect(lead).toBeGreaterThanOrEqual(2 * DAY);
            expect(lead).toBeGreaterThan(0);
            expect(n.shortNotice).toBe(Date.parse(n.cleanupAt) - Date.parse(n.createdAt) < 2 * DAY);
          }
        }
        const due = new Map<number, number>();
        for (const c of said.get(f.guardianId)!) if (deletionOf(c) <= end) due.set(deletionOf(c), (due.get(deletionOf(c)) ?? 0) + 1);
        // Every deletion of the 30 days, each message in exactly one notice.
        for (const [at, n] of due) expect([iso(at), announced.get(at)]).toEqual([iso(at), n]);
      }
    });

    it('deleted what was due, and the history shows each deletion with the notice that announced it', async () => {
      const [{ n }] = await t.dataSource.query(
        `SELECT COUNT(*) AS n FROM message m WHERE m.conversation_id = ${TEST_DB === 'postgres' ? '$1' : '?'}`,
        [weekly.conversationId],
      );
      // 30 days of two messages a day are kept.
      expect(Number(n)).toBe(60);
      const history = (await t.http.get(`/admin/families/${weekly.guardianId}/history`).set(t.as('viewer')).expect(200)).body;
      const past = history.deletions.filter((d: { deleteAt: string }) => Date.parse(d.deleteAt) <= start + 30 * DAY);
      expect(past).toHaveLength(30);
      for (const d of past) {
        expect(d).toMatchObject({ announcement: 'sent', messages: 2, late: false });
        expect(d.cleanup).toMatchObject({ status: 'succeeded', trigger: 'scheduled' });
        expect(Date.parse(d.noticeSentAt)).toBeLessThan(Date.parse(d.deleteAt));
      }
      expect(JSON.stringify(history)).not.toContain('secret words');
    });
  });

  describe('any cleanup cadence', () => {
    it('a cleanup every 5 seconds: each record on its own run, dates in the family zone, as the cleanup deletes them', async () => {
      const clock = new FixedClock(new Date('2026-12-01T23:00:00.000Z'));
      const t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0', CLEANUP_CRON: '*/5 * * * * *' } });
      try {
        // Riyadh is UTC+3: 20:59:55 UTC is 23:59:55 there, 21:00:00 UTC is midnight, the next day.
        const riyadh = await family(t, 'riyadh@example.com', { timezone: 'Asia/Riyadh' });
        const utc = await family(t, 'utc@example.com');
        for (const f of [riyadh, utc])
          await say(t, f, ['2026-11-02T20:59:52.000Z', '2026-11-02T20:59:57.000Z', '2026-11-06T12:00:00.000Z']);

        const run = await enqueueAt(t, clock.now());
        expect(run).toMatchObject({ noticesCreated: 2, windowUntil: '2026-12-10T23:00:00.000Z' });
        const [r] = await noticesOf(t, riyadh.guardianId);
        expect(r.timeZone).toBe('Asia/Riyadh');
        expect(r.groups.map((g) => `${g.date} ${g.deleteAt} ${g.messages}`)).toEqual([
          '2026-12-02 2026-12-02T20:59:55.000Z 1',
          '2026-12-03 2026-12-02T21:00:00.000Z 1',
          '2026-12-06 2026-12-06T12:00:00.000Z 1',
        ]);
        const [u] = await noticesOf(t, utc.guardianId);
        expect(datesOf(u)).toEqual(['2026-12-02 2', '2026-12-06 1']);

        // The cleanup deletes each at the run the notice named, not one run sooner.
        const cleanup = t.app.get(CleanupService);
        const count = async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM message'))[0].n);
        await cleanup.run({ at: new Date('2026-12-02T20:59:50.000Z'), trigger: 'manual', triggeredBy: 'test' });
        expect(await count()).toBe(6);
        await cleanup.run({ at: new Date('2026-12-02T20:59:55.000Z'), trigger: 'manual', triggeredBy: 'test' });
        expect(await count()).toBe(4);
        await cleanup.run({ at: new Date('2026-12-02T21:00:00.000Z'), trigger: 'manual', triggeredBy: 'test' });
        expect(await count()).toBe(2);
      } finally {
        await t.close();
      }
    });

    it('a weekly cleanup: told by the last notice run 2 days ahead of the Sunday, the next Sunday a week later', async () => {
      // Tuesday evening; the cleanup runs on Sundays at midnight.
      const clock = new FixedClock(new Date('2026-12-01T23:00:00.000Z'));
      const t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0', CLEANUP_CRON: '0 0 * * 0' } });
      try {
        const f = await family(t, 'weekly-cleanup@example.com');
        // Expire on 2 and 5 December (deleted Sunday the 6th) and on 8 December (Sunday the 13th).
        await say(t, f, ['2026-11-02T10:00:00.000Z', '2026-11-05T10:00:00.000Z', '2026-11-08T12:00:00.000Z']);
        const runs: [string, number][] = [];
        for (let day = 0; day < 10; day++) {
          const now = new Date(Date.parse('2026-12-01T23:00:00.000Z') + day * DAY);
          clock.set(now.toISOString());
          runs.push([now.toISOString().slice(0, 10), (await enqueueAt(t, now)).noticesCreated]);
        }
        expect(runs.filter(([, n]) => n > 0).map(([d]) => d)).toEqual(['2026-12-03', '2026-12-10']);
        expect((await noticesOf(t, f.guardianId)).map((n) => `${n.cleanupAt} ${datesOf(n).join(',')}`)).toEqual([
          '2026-12-06T00:00:00.000Z 2026-12-06 2',
          '2026-12-13T00:00:00.000Z 2026-12-13 1',
        ]);
      } finally {
        await t.close();
      }
    });
  });

  describe('data that arrives after the notice that covered its date', () => {
    it('is held back by the cleanup until the next notice run has told it, then deleted', async () => {
      const clock = new FixedClock(new Date('2026-12-01T23:00:00.000Z'));
      const t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0' } });
      try {
        const told = await family(t, 'told@example.com');
        const never = await family(t, 'never@example.com', { notificationsEnabled: true });
        // Deleted at the cleanup of 3 December: told now.
        await say(t, told, ['2026-11-02T10:00:00.000Z']);
        expect((await enqueueAt(t, clock.now())).noticesCreated).toBe(1);
        await t.app.get(DeliveryService).deliverDue();
        // Half an hour after the notice run: a month-old conversation imported into each family.
        clock.set('2026-12-01T23:30:00.000Z');
        for (const f of [told, never]) await say(t, f, ['2026-10-31T12:00:00.000Z']);
        const count = async (f: Family) =>
          Number(
            (
              await t.dataSource.query(`SELECT COUNT(*) AS n FROM message WHERE conversation_id = ${TEST_DB === 'postgres' ? '$1' : '?'}`, [
                f.conversationId,
              ])
            )[0].n,
          );
        const cleanup = t.app.get(CleanupService);
        clock.set('2026-12-02T00:00:00.000Z');
        const first = await cleanup.run({ at: clock.now(), trigger: 'scheduled', triggeredBy: 'test' });
        expect(first.status).toBe('succeeded');
        // The told family's import waits for its notice; a family never told anything has no notice to wait for.
        expect([await count(told), await count(never)]).toEqual([2, 0]);

        clock.set('2026-12-02T23:00:00.000Z');
        expect(await enqueueAt(t, clock.now())).toMatchObject({ noticesCreated: 1, shortNotices: 1 });
        await t.app.get(DeliveryService).deliverDue();
        const [, late] = await noticesOf(t, told.guardianId);
        expect(late.groups).toEqual([expect.objectContaining({ date: '2026-12-03', messages: 1, late: true })]);

        clock.set('2026-12-03T00:00:00.000Z');
        await cleanup.run({ at: clock.now(), trigger: 'scheduled', triggeredBy: 'test' });
        expect(await count(told)).toBe(0);
        const history = (await t.http.get(`/admin/families/${told.guardianId}/history`).set(t.as('viewer')).expect(200)).body;
        // Both deletions of 3 December, each with the notice that told it before.
        expect(history.deletions).toEqual([
          expect.objectContaining({
            date: '2026-12-03',
            late: false,
            announcement: 'sent',
            cleanup: expect.objectContaining({ status: 'succeeded' }),
          }),
          expect.objectContaining({ date: '2026-12-03', late: true, noticeId: late.id, announcement: 'sent' }),
        ]);
      } finally {
        await t.close();
      }
    });
  });

  describe("the parent's choice", () => {
    it('applies a change of frequency from the next notice run, never telling a record twice', async () => {
      const start = Date.parse('2026-12-01T23:00:00.000Z');
      const clock = new FixedClock(new Date(start));
      const t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0' } });
      try {
        const f = await family(t, 'choice@example.com');
        // A message a day, deleted at each midnight from 3 December to 30 December.
        await say(
          t,
          f,
          Array.from({ length: 28 }, (_, i) => iso(Date.parse('2026-11-02T12:00:00.000Z') + i * DAY)),
        );
        const patch = (body: object) => t.http.patch(`/v1/guardians/${f.guardianId}`).set(t.as('ingest')).send(body).expect(200);
        const created: string[] = [];
        for (let day = 0; day < 16; day++) {
          const now = new Date(start + day * DAY);
          clock.set(now.toISOString());
          if (day === 1) await patch({ noticeFrequency: 'each_run' });
          if (day === 8) await patch({ noticeFrequency: 'digest' });
          if ((await enqueueAt(t, now)).noticesCreated > 0) created.push(now.toISOString().slice(0, 10));
        }
        const notices = await noticesOf(t, f.guardianId);
        expect(notices.map((n) => `${n.frequency} ${n.groups.map((g) => g.date.slice(8)).join(',')}`)).toEqual([
          // The digest of the 1st reaches the 10th; each run then tells one day, until the digest again.
          'digest 03,04,05,06,07,08,09,10',
          'each_run 11',
          'digest 12,13,14,15,16,17,18',
          'digest 19,20,21,22,23,24,25',
        ]);
        // Each at the last run that is still 2 days ahead of its first deletion.
        expect(created).toEqual(['2026-12-01', '2026-12-08', '2026-12-09', '2026-12-16']);
      } finally {
        await t.close();
      }
    });
  });

  describe('SMTP down during a digest run', () => {
    it('keeps the digests, and delivers each once when SMTP is back, still before the first deletion, in each language', async () => {
      const clock = new FixedClock(new Date('2026-12-01T23:00:00.000Z'));
      const sink = await SmtpSink.start();
      const t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0', SMTP_URL: sink.url, MAIL_FROM: 'no-reply@teddy.example' } });
      try {
        const en = await family(t, 'en@example.com', { displayName: 'Layla', timezone: 'Asia/Tokyo' }, 'Omar');
        const ar = await family(t, 'ar@example.com', { displayName: 'منى', locale: 'ar' }, 'سارة');
        // Deleted at the midnights of 4, 5 and 8 December.
        for (const f of [en, ar])
          await say(t, f, ['2026-11-03T10:00:00Z', '2026-11-04T10:00:00Z', '2026-11-04T11:00:00Z', '2026-11-07T10:00:00Z']);
        await sink.stop();
        const down = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
        expect(down.body).toMatchObject({ noticesCreated: 2, shortNotices: 0, delivery: { sent: 0, failed: 2 } });
        // The next notice run makes no second digest while these wait.
        clock.advance(DAY);
        expect((await enqueueAt(t, clock.now())).noticesDue).toBe(0);
        expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ sent: 0 });

        await sink.listen();
        clock.advance(HOUR);
        expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ claimed: 2, sent: 2 });
        expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ claimed: 0 });
        expect(sink.mails).toHaveLength(2);
        for (const f of [en, ar]) {
          const [n] = await noticesOf(t, f.guardianId);
          expect(n).toMatchObject({ status: 'sent', cleanupAt: '2026-12-04T00:00:00.000Z' });
          expect(Date.parse(n.sentAt!)).toBeLessThan(Date.parse(n.cleanupAt));
        }
        const mail = (to: string) => sink.mails.find((m) => m.envelopeTo.includes(to))!;
        expect(mail('en@example.com').subject).toBe('Teddy will delete 4 messages from Friday, December 4');
        expect(mail('en@example.com').text.replace(/\r\n/g, '\n')).toContain(
          'Saturday, December 5:\n- Omar: 2 messages from 1 conversation',
        );
        expect(mail('ar@example.com').subject).toBe('سيحذف تيدي 4 رسائل بدءًا من الجمعة، 4 ديسمبر');
        expect(mail('ar@example.com').text.replace(/\r\n/g, '\n')).toContain('السبت، 5 ديسمبر:\n- سارة: رسالتان في محادثة واحدة');
        expect(new Set(sink.mails.map((m) => m.messageId)).size).toBe(2);
      } finally {
        await t.close();
        await sink.stop();
      }
    });
  });
});

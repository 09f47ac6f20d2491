import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { FixedClock } from '../src/common/clock';
import { DeliveryService } from '../src/notifications/delivery.service';
import { NoticeService } from '../src/notifications/notice.service';
import { JobCatalogue } from '../src/scheduler/job-catalogue';
import { startApp, TestApp } from './support/app';
import { placeholder, sqlTimestamp } from '../src/database/sql';
import { TEST_DB } from './support/databases';
import { SmtpSink } from './support/smtp-sink';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The notice job's usual time: an hour before the midnight cleanup (RETENTION_DAYS 30, NOTICE_DAYS_BEFORE 2). */
const N = '2026-12-01T23:00:00.000Z';
const T1 = '2026-12-02T00:00:00.000Z';
const T2 = '2026-12-03T00:00:00.000Z';
const T3 = '2026-12-04T00:00:00.000Z';

interface FamilySpec {
  email: string;
  displayName?: string;
  locale?: 'en' | 'ar';
  retentionDays?: number;
  notificationsEnabled?: boolean;
  timezone?: string;
  children: { name: string; conversations: { startedAt: string; messages: string[] }[] }[];
}

interface NoticeBody {
  id: string;
  guardianId: string;
  cleanupAt: string;
  locale: string;
  channel: string;
  status: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  sentAt: string | null;
  messages: number;
  conversations: number;
  children: { childId: string; displayName: string; messages: number; conversations: number }[];
  seq: number;
  coversUntil: string | null;
  shortNotice: boolean;
  frequency: string;
  groups:
    | { childId: string; displayName: string; date: string; deleteAt: string; messages: number; conversations: number; late: boolean }[]
    | null;
}

/** Creates a guardian and their children's conversations through the ingest API; answers the guardian id. */
async function family(t: TestApp, spec: FamilySpec): Promise<string> {
  const ingest = t.as('ingest');
  const { email, displayName = 'Parent', locale, retentionDays, notificationsEnabled, timezone } = spec;
  const guardian = await t.http
    .post('/v1/guardians')
    .set(ingest)
    .send({ email, displayName, locale, retentionDays, notificationsEnabled, timezone })
    .expect(201);
  for (const child of spec.children) {
    const c = await t.http.post(`/v1/guardians/${guardian.body.id}/children`).set(ingest).send({ displayName: child.name }).expect(201);
    for (const conversation of child.conversations) {
      const v = await t.http
        .post(`/v1/children/${c.body.id}/conversations`)
        .set(ingest)
        .send({ startedAt: conversation.startedAt })
        .expect(201);
      if (conversation.messages.length === 0) continue;
      await t.http
        .post(`/v1/conversations/${v.body.id}/messages`)
        .set(ingest)
        .send({
          messages: conversation.messages.map((createdAt, i) => ({
            role: i % 2 ? 'teddy' : 'child',
            text: `secret words ${i}`,
            createdAt,
          })),
        })
        .expect(201);
    }
  }
  return guardian.body.id;
}

/** A conversation with one message at `at`, for a family that needs just something expiring. */
/** A notice run straight at the service, warning about the cleanups the app's stored jobs schedule. */
const enqueueAt = (t: TestApp, now: Date) => t.app.get(NoticeService).enqueue({ now, ...t.app.get(JobCatalogue).calendars() });

const oneMessage = (name: string, at: string) => [{ name, conversations: [{ startedAt: at, messages: [at] }] }];

async function notices(t: TestApp, query = ''): Promise<NoticeBody[]> {
  const res = await t.http.get(`/admin/notifications?limit=200${query}`).set(t.as('viewer')).expect(200);
  return res.body.items;
}

/**
 * What the cleanup at `at` leaves behind for default-retention families, done by hand: the cleanup
 * itself is not part of these tests, and data it should have deleted would be told again with the
 * next run (a notice always covers everything the run will delete, overdue records included).
 */
async function cleanupRan(t: TestApp, at: string): Promise<void> {
  const cutoff = sqlTimestamp(TEST_DB, new Date(Date.parse(at) - 30 * DAY));
  const p1 = placeholder(TEST_DB, 1);
  await t.dataSource.query(`DELETE FROM message WHERE created_at <= ${p1}`, [cutoff]);
  await t.dataSource.query(
    `DELETE FROM conversation WHERE started_at <= ${p1} AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = conversation.id)`,
    [cutoff],
  );
}

interface Receiver {
  url: string;
  received: { headers: IncomingMessage['headers']; body: string; status: number }[];
  /** Status codes to answer with, in order; 'hang' never answers. Empty: verify and answer 204 or 401. */
  script: (number | 'hang')[];
  close(): Promise<void>;
}

/** A webhook receiver that verifies requests with the official standardwebhooks library, not with our code. */
async function startReceiver(secret: string, clock: FixedClock): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const script: Receiver['script'] = [];
  const webhook = new Webhook(secret);
  /** The official standardwebhooks library's verdict, as a receiver built on it would give it. */
  const verify = (headers: IncomingMessage['headers'], body: string): boolean => {
    const signed = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(headers[h] ?? '')]));
    // The library checks webhook-timestamp (5 minutes either way) against Date.now(); the service's clock is the test's.
    const now = jest.spyOn(Date, 'now').mockReturnValue(clock.now().getTime());
    try {
      webhook.verify(body, signed);
      return true;
    } catch (error) {
      if (error instanceof WebhookVerificationError) return false;
      throw error;
    } finally {
      now.mockRestore();
    }
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const next = script.shift();
      if (next === 'hang') return;
      const status = next ?? (verify(req.headers, body) ? 204 : 401);
      received.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/teddy/notices`,
    received,
    script,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe(`deletion notices on ${TEST_DB}`, () => {
  describe('who is told what (log channel)', () => {
    const clock = new FixedClock(new Date(N));
    let t: TestApp;
    let layla: string;
    let huda: string;
    let sami: string;
    let fresh: string;

    beforeAll(async () => {
      t = await startApp({ clock, env: { NOTICE_POLL_SECONDS: '0' } });
      // Default retention (30 days): cutoffs 2026-11-02T00:00 at T1, 2026-11-03T00:00 at T2, 2026-11-04T00:00 at T3.
      layla = await family(t, {
        email: 'layla@example.com',
        children: [
          {
            name: 'Omar',
            conversations: [
              // Overdue: goes with the first run of the window.
              { startedAt: '2026-10-20T10:00:00Z', messages: ['2026-10-20T10:00:00Z', '2026-10-20T10:05:00Z'] },
              // One message goes at T1, the last at T2, and the conversation with it.
              { startedAt: '2026-11-01T12:00:00Z', messages: ['2026-11-01T12:00:00Z', '2026-11-02T12:00:00Z'] },
              // Expires at T3, after this window.
              { startedAt: '2026-11-03T12:00:00Z', messages: ['2026-11-03T12:00:00Z'] },
            ],
          },
          { name: 'Lina', conversations: [{ startedAt: '2026-11-02T06:00:00Z', messages: ['2026-11-02T06:00:00Z'] }] },
        ],
      });
      // 7-day retention: cutoffs 2026-11-25T00:00 at T1, 2026-11-26T00:00 at T2, 2026-11-27T00:00 at T3.
      huda = await family(t, {
        email: 'huda@example.com',
        locale: 'ar',
        retentionDays: 7,
        children: [
          {
            name: 'سارة',
            conversations: [
              {
                startedAt: '2026-11-20T08:00:00Z',
                // Exactly at T1's cutoff goes at T1; 1 ms after it waits for T2.
                messages: ['2026-11-20T08:00:00Z', '2026-11-25T00:00:00.000Z', '2026-11-25T00:00:00.001Z', '2026-11-27T00:00:00Z'],
              },
            ],
          },
        ],
      });
      sami = await family(t, {
        email: 'sami@example.com',
        notificationsEnabled: false,
        children: oneMessage('Rami', '2026-10-01T00:00:00Z'),
      });
      // Nothing deleted soon: no notice yet.
      fresh = await family(t, { email: 'fresh@example.com', children: oneMessage('Yara', '2026-11-28T00:00:00Z') });
    });
    afterAll(() => t.close());

    it('creates one digest per guardian with a deletion the next run could not announce in time, and records what a guardian with notices off was not told', async () => {
      const res = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(res.body).toMatchObject({
        at: N,
        nextNoticeAt: '2026-12-02T23:00:00.000Z',
        // The notice run a week on, plus NOTICE_DAYS_BEFORE.
        windowUntil: '2026-12-10T23:00:00.000Z',
        noticesDue: 2,
        noticesCreated: 2,
        noticesExisting: 0,
        skippedGuardians: 1,
        // Their first deletion (T1) is an hour away: the data came in just now.
        shortNotices: 2,
        delivery: { claimed: 2, sent: 2, failed: 0, dead: 0, expired: 0, more: false },
      });
      const list = await notices(t);
      expect(
        list
          .filter((n) => n.status !== 'suppressed')
          .map((n) => `${n.guardianId} ${n.cleanupAt}`)
          .sort(),
      ).toEqual([`${huda} ${T1}`, `${layla} ${T1}`].sort());
      const told = list.filter((n) => n.status === 'sent');
      for (const n of told)
        expect(n).toMatchObject({ channel: 'log', attempts: 1, sentAt: N, lastError: null, seq: 1, frequency: 'digest' });
      // Sami turned notices off: nothing is sent, but the record says what he was not told.
      expect(list.filter((n) => n.guardianId === sami)).toEqual([
        expect.objectContaining({ status: 'suppressed', attempts: 0, messages: 1 }),
      ]);
    });

    it('lists every deletion until the next digest, per child and date, each record on the first run that deletes it', async () => {
      const list = await notices(t);
      const find = (guardianId: string) => list.find((n) => n.guardianId === guardianId)!;
      const dates = (n: NoticeBody) =>
        n.groups!.map(({ date, displayName, messages, conversations }) => `${date} ${displayName} ${messages}/${conversations}`);
      // The overdue conversation and the first message of the second go at T1; the rest at T2 and T3.
      expect(dates(find(layla))).toEqual(['2026-12-02 Omar 3/2', '2026-12-03 Lina 1/1', '2026-12-03 Omar 1/1', '2026-12-04 Omar 1/1']);
      expect(find(layla)).toMatchObject({ messages: 6, locale: 'en', coversUntil: '2026-12-10T23:00:00.000Z', shortNotice: true });
      // A 7-day retention: exactly at T1's cutoff goes at T1; 1 ms after it waits for T2.
      expect(dates(find(huda))).toEqual(['2026-12-02 سارة 2/1', '2026-12-03 سارة 1/1', '2026-12-04 سارة 1/1']);
      expect(find(huda).locale).toBe('ar');
      // Counts and names only: the message text is nowhere in a notice.
      expect(JSON.stringify(list)).not.toContain('secret words');
    });

    it('creates nothing more when the job runs again, or twice at once', async () => {
      const again = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(again.body).toMatchObject({ noticesDue: 0, noticesCreated: 0, skippedGuardians: 0, delivery: { claimed: 0 } });
      const [a, b] = await Promise.all([enqueueAt(t, clock.now()), enqueueAt(t, clock.now())]);
      expect(a.noticesDue + b.noticesDue).toBe(0);
      expect(await notices(t)).toHaveLength(3);
    });

    it('tells data imported late into a covered date at the next run, on short notice, and only that', async () => {
      clock.set('2026-12-02T23:00:00.000Z');
      const children = (await t.http.get(`/v1/guardians/${layla}/children`).set(t.as('ingest')).expect(200)).body.items;
      const omar = children.find((c: { displayName: string }) => c.displayName === 'Omar');
      const [conversation] = (await t.http.get(`/v1/children/${omar.id}/conversations`).set(t.as('ingest')).expect(200)).body.items;
      // Said on 2 November, imported now: deleted at T2, an hour away.
      await t.http
        .post(`/v1/conversations/${conversation.id}/messages`)
        .set(t.as('ingest'))
        .send({ role: 'child', text: 'secret words', createdAt: '2026-11-02T18:00:00Z' })
        .expect(201);
      const res = await enqueueAt(t, clock.now());
      expect(res).toMatchObject({ noticesDue: 1, noticesCreated: 1, shortNotices: 1 });
      const [late] = await notices(t, `&guardianId=${layla}`);
      expect(late).toMatchObject({ seq: 2, cleanupAt: T2, messages: 1, shortNotice: true });
      expect(late.groups).toEqual([expect.objectContaining({ date: '2026-12-03', displayName: 'Omar', messages: 1, late: true })]);
      expect((await enqueueAt(t, clock.now())).noticesDue).toBe(0);
      clock.set(N);
    });

    it('tells a family whose first deletion is later at its last chance, once, even when two runs race', async () => {
      // Fresh's message (28 November) is deleted at the cleanup of 28 December: the run of 25 December is the last one 2 days ahead.
      clock.set('2026-12-24T23:00:00.000Z');
      expect((await enqueueAt(t, clock.now())).noticesDue).toBe(0);
      clock.set('2026-12-25T23:00:00.000Z');
      const [a, b] = await Promise.all([enqueueAt(t, clock.now()), enqueueAt(t, clock.now())]);
      expect(a.noticesCreated + b.noticesCreated).toBe(1);
      // The slower run either found the notice made (read after the other's write) or lost the race to write it.
      expect(a.noticesExisting + b.noticesExisting).toBeLessThanOrEqual(1);
      const list = await notices(t);
      const mine = list.filter((n) => n.guardianId === fresh);
      expect(mine).toEqual([expect.objectContaining({ cleanupAt: '2026-12-28T00:00:00.000Z', status: 'pending', messages: 1 })]);
      clock.set(N);
    });

    it('lists newest first, filters by status and pages with a cursor', async () => {
      const pending = await notices(t, '&status=pending');
      expect(pending).toHaveLength(2);
      expect(pending.every((n) => n.status === 'pending')).toBe(true);
      const first = await t.http.get('/admin/notifications?limit=3').set(t.as('viewer')).expect(200);
      expect(first.body.items).toHaveLength(3);
      // The notice of the last run is the newest.
      expect(first.body.items[0].guardianId).toBe(fresh);
      const second = await t.http.get(`/admin/notifications?limit=3&cursor=${first.body.nextCursor}`).set(t.as('viewer')).expect(200);
      expect(second.body.items).toHaveLength(2);
      expect(second.body.nextCursor).toBeNull();
      const ids = [...first.body.items, ...second.body.items].map((n: NoticeBody) => n.id);
      expect(new Set(ids).size).toBe(5);
      expect((await notices(t, `&guardianId=${layla}`)).every((n) => n.guardianId === layla)).toBe(true);
    });

    it('refuses a bad query with a 400 naming the field', async () => {
      const bad = await t.http.get('/admin/notifications?status=lost').set(t.as('viewer')).expect(400);
      expect(bad.body.message).toContain('status must be one of pending, sent, failed, dead, suppressed');
      expect((await t.http.get('/admin/notifications?limit=0').set(t.as('viewer')).expect(400)).body.message).toContain('limit');
      expect((await t.http.get('/admin/notifications?cursor=nope').set(t.as('viewer')).expect(400)).body.message).toContain('cursor');
      expect((await t.http.get('/admin/notifications?guardianId=x').set(t.as('viewer')).expect(400)).body.message).toContain(
        'guardianId must be a UUID',
      );
    });

    it('lets a viewer list but only an operator trigger', async () => {
      await t.http.get('/admin/notifications').expect(401);
      await t.http.get('/admin/notifications').set(t.as('ingest')).expect(403);
      const res = await t.http.post('/admin/notifications/trigger').set(t.as('viewer')).expect(403);
      expect(res.body.message).toContain('needs: operator');
      await t.http.post('/admin/notifications/trigger').set(t.as('ingest')).expect(403);
    });

    it('counts notices by channel and status in /metrics', async () => {
      const metrics = await t.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(/teddy_notices_total\{channel="log",status="sent"\} 2\b/);
      expect(metrics.text).toMatch(/teddy_notices_total\{channel="log",status="pending"\} 4\b/);
    });
  });

  describe('SMTP delivery', () => {
    const clock = new FixedClock(new Date(N));
    let sink: SmtpSink;
    let t: TestApp;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      sink = await SmtpSink.start();
      t = await startApp({
        clock,
        env: { NOTICE_POLL_SECONDS: '0', SMTP_URL: sink.url, MAIL_FROM: 'Teddy <no-reply@teddy.example>', SMTP_TIMEOUT_MS: '2000' },
      });
      ids.mona = await family(t, {
        email: 'mona@example.com',
        displayName: 'منى',
        locale: 'ar',
        children: [
          {
            name: 'عمر <& co>',
            conversations: [{ startedAt: '2026-10-30T09:00:00Z', messages: ['2026-10-30T09:00:00Z', '2026-10-30T09:01:00Z'] }],
          },
        ],
      });
      // In a zone of his own: his notice's date is written in it (the service's zone is UTC).
      ids.john = await family(t, {
        email: 'john@example.com',
        displayName: 'John',
        timezone: 'Asia/Tokyo',
        children: oneMessage('Ella', '2026-11-01T00:00:00Z'),
      });
    });
    afterAll(async () => {
      await t.close();
      await sink.stop();
    });

    it('sends each notice to the guardian, in their language, with a text part and a stable Message-ID', async () => {
      const res = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(res.body).toMatchObject({ noticesCreated: 2, delivery: { sent: 2, failed: 0 } });
      const list = await notices(t);
      expect(list.every((n) => n.channel === 'smtp' && n.status === 'sent')).toBe(true);
      expect(sink.mails).toHaveLength(2);

      const notice = (guardianId: string) => list.find((n) => n.guardianId === guardianId)!;
      const mail = (to: string) => sink.mails.find((m) => m.envelopeTo.includes(to))!;

      const ar = mail('mona@example.com');
      expect(ar.envelopeFrom).toBe('no-reply@teddy.example');
      expect(ar.headers.to).toContain('<mona@example.com>');
      expect(ar.messageId).toBe(`<${notice(ids.mona).id}@teddy-scheduler>`);
      expect(ar.headers['content-language']).toBe('ar');
      expect(ar.subject).toBe('سيحذف تيدي رسالتين في الأربعاء، 2 ديسمبر');
      expect(ar.text).toContain('مرحبًا منى،');
      expect(ar.text).toContain('الأربعاء، 2 ديسمبر:\n- عمر <& co>: رسالتان في محادثة واحدة');
      expect(ar.html).toContain('<html lang="ar" dir="rtl">');
      expect(ar.html).toContain('عمر &lt;&amp; co&gt;');
      expect(ar.raw).not.toContain('secret words');

      const en = mail('john@example.com');
      expect(en.messageId).toBe(`<${notice(ids.john).id}@teddy-scheduler>`);
      // Midnight UTC is 9 in the morning in Tokyo: his dates are written in his zone.
      expect(en.subject).toBe('Teddy will delete 1 message on Wednesday, December 2');
      expect(en.text).toContain('the first of it on Wednesday, December 2, 2026 at 9:00 AM GMT+9:');
      expect(en.text).toContain('- Ella: 1 message from 1 conversation');
      expect(en.html).toContain('<html lang="en" dir="ltr">');
    });

    it('keeps notices while SMTP is down, retries them later, and delivers each exactly once', async () => {
      clock.set('2026-12-02T23:00:00.000Z');
      await cleanupRan(t, T1);
      ids.ali = await family(t, { email: 'ali@example.com', children: oneMessage('Adam', '2026-11-03T06:00:00Z') });
      ids.rana = await family(t, { email: 'rana@example.com', locale: 'ar', children: oneMessage('Nour', '2026-11-03T07:00:00Z') });
      await sink.stop();
      const delivered = sink.mails.length;

      const down = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(down.body).toMatchObject({ noticesCreated: 2, delivery: { claimed: 2, sent: 0, failed: 2, dead: 0 } });
      const failed = await notices(t, '&status=failed');
      expect(failed.map((n) => n.guardianId).sort()).toEqual([ids.ali, ids.rana].sort());
      for (const n of failed) {
        expect(n.attempts).toBe(1);
        expect(n.lastError).toMatch(/^smtp: .*ECONNREFUSED/);
        expect(new Date(n.nextAttemptAt).getTime()).toBeGreaterThan(clock.now().getTime());
        expect(new Date(n.nextAttemptAt).getTime()).toBeLessThan(new Date(n.cleanupAt).getTime());
      }
      // Not due yet: nothing is tried again.
      expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ claimed: 0 });

      await sink.listen();
      // The retry comes within minutes; the deletion (T1) is an hour away.
      clock.advance(10 * 60_000);
      const retry = await t.app.get(DeliveryService).deliverDue();
      expect(retry).toMatchObject({ claimed: 2, sent: 2, failed: 0 });
      expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ claimed: 0 });

      const fresh = sink.mails.slice(delivered);
      expect(fresh.map((m) => m.envelopeTo[0]).sort()).toEqual(['ali@example.com', 'rana@example.com']);
      expect(fresh.map((m) => m.messageId).sort()).toEqual(failed.map((n) => `<${n.id}@teddy-scheduler>`).sort());
      const sent = await notices(t, `&guardianId=${ids.ali}`);
      expect(sent[0]).toMatchObject({ status: 'sent', attempts: 2 });

      const metrics = await t.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(/teddy_application_errors_total\{type="scheduled_notifications"\} 2\b/);
      expect(metrics.text).toMatch(/teddy_notices_total\{channel="smtp",status="failed"\} 2\b/);
      expect(metrics.text).toMatch(/teddy_notices_total\{channel="smtp",status="sent"\} 4\b/);
    });

    it('gives a notice up, loudly, when its deletion comes before it could be delivered', async () => {
      clock.set('2026-12-03T23:00:00.000Z');
      // Due at T3, an hour away.
      ids.late = await family(t, { email: 'late@example.com', children: oneMessage('Zain', '2026-11-03T20:00:00Z') });
      await sink.stop();
      const res = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(res.body.delivery).toMatchObject({ failed: 1 });
      await sink.listen();
      clock.set('2026-12-04T00:00:00.000Z');
      expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ expired: 1, claimed: 0 });
      const [dead] = await notices(t, `&guardianId=${ids.late}`);
      expect(dead).toMatchObject({ status: 'dead', lastError: 'not delivered before the deletion it warns about' });
    });

    (TEST_DB === 'postgres' ? it : it.skip)('two replicas on one database make one notice per guardian and send each once', async () => {
      // Small batches, so the replicas' claims interleave.
      const env = { NOTICE_POLL_SECONDS: '0', SMTP_URL: sink.url, MAIL_FROM: 'Teddy <no-reply@teddy.example>', NOTICE_BATCH_SIZE: '3' };
      const replicas = [await startApp({ clock, database: t.database, env }), await startApp({ clock, database: t.database, env })];
      try {
        clock.set('2026-12-04T23:00:00.000Z');
        await cleanupRan(t, T3);
        // Due at 2026-12-06T00:00, the second run of the window.
        for (let i = 0; i < 20; i++)
          await family(t, { email: `many${i}@example.com`, children: oneMessage(`Kid ${i}`, '2026-11-05T03:00:00Z') });
        const before = sink.mails.length;
        const enqueued = await Promise.all(replicas.map((r) => enqueueAt(r, clock.now())));
        expect(enqueued.map((e) => e.noticesCreated).reduce((a, b) => a + b)).toBe(20);
        expect(enqueued.map((e) => e.noticesExisting).reduce((a, b) => a + b)).toBe(20);

        const passes = await Promise.all(replicas.map((r) => r.app.get(DeliveryService).deliverDue()));
        expect(passes.map((p) => p.claimed).reduce((a, b) => a + b)).toBe(20);
        expect(passes.map((p) => p.sent).reduce((a, b) => a + b)).toBe(20);
        const fresh = sink.mails.slice(before);
        expect(fresh).toHaveLength(20);
        expect(new Set(fresh.map((m) => m.messageId)).size).toBe(20);
        const [{ n }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM notice WHERE cleanup_at = $1`, ['2026-12-06T00:00:00.000Z']);
        expect(Number(n)).toBe(20);
      } finally {
        for (const r of replicas) await r.close();
      }
    });
  });

  describe('webhook delivery', () => {
    const clock = new FixedClock(new Date(N));
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    let receiver: Receiver;
    let url: string;
    let received: Receiver['received'];
    let script: Receiver['script'];
    let t: TestApp;

    beforeAll(async () => {
      receiver = await startReceiver(secret, clock);
      ({ url, received, script } = receiver);
      t = await startApp({
        clock,
        env: { NOTICE_POLL_SECONDS: '0', NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: secret, NOTIFY_WEBHOOK_TIMEOUT_MS: '300' },
      });
    });
    afterAll(async () => {
      await t.close();
      await receiver.close();
    });

    it('signs each delivery as Standard Webhooks says: the standardwebhooks library verifies it and rejects a tampered body', async () => {
      const guardianId = await family(t, { email: 'hook@example.com', locale: 'ar', children: oneMessage('Ziad', '2026-10-31T00:00:00Z') });
      const res = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(res.body.delivery).toMatchObject({ sent: 1, failed: 0 });
      const [notice] = await notices(t);
      expect(notice).toMatchObject({ channel: 'webhook', status: 'sent' });

      expect(received).toHaveLength(1);
      const [{ headers, body, status }] = received;
      expect(status).toBe(204);
      expect(headers['webhook-id']).toBe(notice.id);
      expect(headers['webhook-timestamp']).toBe(String(Date.parse(N) / 1000));
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      const payload = JSON.parse(body);
      expect(payload).toMatchObject({
        type: 'retention.deletion_notice',
        data: { noticeId: notice.id, guardianId, locale: 'ar', cleanupAt: T1, messages: 1, conversations: 1 },
      });
      expect(payload.data.html).toContain('dir="rtl"');
      expect(body).not.toContain('secret words');

      const replay = (b: string) =>
        fetch(url, {
          method: 'POST',
          headers: {
            'webhook-id': String(headers['webhook-id']),
            'webhook-timestamp': String(headers['webhook-timestamp']),
            'webhook-signature': String(headers['webhook-signature']),
          },
          body: b,
        });
      expect((await replay(body)).status).toBe(204);
      expect((await replay(body.replace('"messages":1', '"messages":0'))).status).toBe(401);
    });

    it('retries after an error answer or a timeout with the same webhook-id', async () => {
      clock.set('2026-12-02T23:00:00.000Z');
      await cleanupRan(t, T1);
      // Due at T3, more than a day away.
      await family(t, { email: 'hook2@example.com', children: oneMessage('Maya', '2026-11-03T00:00:00.001Z') });
      received.length = 0;
      script.push(500);
      const first = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(first.body.delivery).toMatchObject({ sent: 0, failed: 1 });
      const [failed] = await notices(t, '&status=failed');
      expect(failed.lastError).toBe('webhook: webhook answered HTTP 500');

      script.push('hang');
      clock.advance(HOUR);
      expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ failed: 1 });
      const [timedOut] = await notices(t, '&status=failed');
      expect(timedOut).toMatchObject({ attempts: 2, lastError: 'webhook: webhook did not answer within 300 ms' });

      clock.advance(HOUR);
      expect(await t.app.get(DeliveryService).deliverDue()).toMatchObject({ sent: 1 });
      expect(received.map((r) => r.status)).toEqual([500, 204]);
      expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set([failed.id]));
    });
  });

  describe('SMTP and webhook together', () => {
    const clock = new FixedClock(new Date(N));
    const secret = 'a-plain-webhook-secret-0001';
    let sink: SmtpSink;
    let receiver: Receiver;
    let t: TestApp;

    beforeAll(async () => {
      sink = await SmtpSink.start();
      receiver = await startReceiver(`whsec_${Buffer.from(secret).toString('base64')}`, clock);
      t = await startApp({
        clock,
        env: {
          NOTICE_POLL_SECONDS: '0',
          SMTP_URL: sink.url,
          MAIL_FROM: 'no-reply@teddy.example',
          NOTIFY_WEBHOOK_URL: receiver.url,
          NOTIFY_WEBHOOK_SECRET: `whsec_${Buffer.from(secret).toString('base64')}`,
        },
      });
    });
    afterAll(async () => {
      await t.close();
      await receiver.close();
      await sink.stop();
    });

    it('sends on both, and a retry repeats only the channel that failed', async () => {
      await family(t, { email: 'both@example.com', children: oneMessage('Hana', '2026-10-31T00:00:00Z') });
      receiver.script.push(503);
      const first = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(first.body.delivery).toMatchObject({ failed: 1 });
      const [failed] = await notices(t);
      expect(failed).toMatchObject({
        channel: 'smtp,webhook',
        deliveredChannels: 'smtp',
        status: 'failed',
        lastError: 'webhook: webhook answered HTTP 503',
      });

      // The retry comes within minutes; the deletion (T1) is an hour away.
      clock.advance(10 * 60_000);
      const retry = await t.app.get(DeliveryService).deliverDue();
      const [sent] = await notices(t);
      expect([retry, sent]).toMatchObject([{ sent: 1 }, { status: 'sent', deliveredChannels: 'smtp,webhook', attempts: 2 }]);
      expect(sink.mails).toHaveLength(1);
      expect(receiver.received.map((r) => r.status)).toEqual([503, 204]);
    });
  });
});

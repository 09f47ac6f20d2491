import { scratchDatabase, TEST_DB } from './support/databases';
import { cleanupReports, count, DrillDb, ledgerRuns, openDrillDb, ownerPid } from './support/drills/db';
import { call, figures, pauseNoticeJob, Resources } from './support/drills/harness';
import { startLoad } from './support/drills/load';
import { metric, sampleEventLoopLag, scrape } from './support/drills/metrics';
import { PrivatePostgres } from './support/drills/private-postgres';
import { DAY_MS, seedBigPopulation, seedExpiredInCutoffDay, seedNoticePopulation } from './support/drills/seed';
import {
  freePortOutsideEphemeralRange,
  SERVICE_KEYS,
  ServiceProcess,
  sleep,
  startService,
  waitFor,
  within,
} from './support/service-process';
import { SmtpSink } from './support/smtp-sink';

/*
 * Fault drills: the built service (`node dist/src/main.js`, npm run build first) in processes of its
 * own, against real databases, while something goes wrong underneath it: the mail server is down
 * for a whole notice run, PostgreSQL restarts in the middle of a cleanup, the replica running the
 * cleanup is killed, two hundred clients hammer the API during a million-row cleanup.
 *
 * Each drill prints its figures on one line starting with [drill] and asserts the outcome (what
 * was delivered, deleted, kept, recorded), never a timing: the only times in here are deadlines
 * that end a hung drill.
 *
 * Which drill runs where:
 *   1. SMTP down for a whole notice run ......................... SQLite and PostgreSQL
 *   2. PostgreSQL restarted mid-cleanup (a private cluster) ...... PostgreSQL only
 *   3. SIGKILL of the replica running the scheduled cleanup ..... PostgreSQL only (two replicas share one database)
 *   4. 200 clients during a 1,000,000-message cleanup ........... SQLite and PostgreSQL
 */

const PG = TEST_DB === 'postgres';
const pgIt = PG ? it : it.skip;

/** RETENTION_DAYS of the spawned services (the default). */
const RETENTION_DAYS = 30;

async function expiredMessages(db: DrillDb): Promise<number> {
  return count(db, 'SELECT COUNT(*) AS n FROM message WHERE created_at <= $1', [db.ts(new Date(Date.now() - RETENTION_DAYS * DAY_MS))]);
}

/** Messages whose conversation is gone: a half-applied deletion would leave some (the foreign key should make it impossible). */
async function orphanMessages(db: DrillDb): Promise<number> {
  return count(db, 'SELECT COUNT(*) AS n FROM message m WHERE NOT EXISTS (SELECT 1 FROM conversation c WHERE c.id = m.conversation_id)');
}

describe(`fault drills (${TEST_DB})`, () => {
  const res = new Resources();

  afterEach(async () => {
    await res.release();
  });
  afterAll(async () => {
    await res.release();
  });

  async function service(name: string, databaseUrl: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
    const p = res.service(await startService({ name, databaseUrl, env }));
    await p.ready(60_000);
    return p;
  }

  async function database(): Promise<string> {
    const scratch = await scratchDatabase();
    res.add('drop the scratch database', () => scratch.drop());
    return scratch.url;
  }

  async function drillDb(url: string): Promise<DrillDb> {
    const db = await openDrillDb(url);
    res.add('close the drill connection', () => db.close());
    return db;
  }

  // ---------------------------------------------------------------------------------------------
  // 1. SMTP down for a whole notice run (both databases)
  // ---------------------------------------------------------------------------------------------

  it('[sqlite+postgres] SMTP down for a whole notice run: 200 notices all fail and wait for a retry; when SMTP is back each is delivered exactly once', async () => {
    await res.explained(async () => {
      const GUARDIANS = 200;
      const url = await database();
      // The sink's port, with nothing listening on it yet: SMTP is down from the start (refused, not
      // a self-connect that would hang until the greeting timeout).
      const sink = new SmtpSink();
      sink.port = await freePortOutsideEphemeralRange();
      res.add('stop the SMTP sink', () => sink.stop());

      // A cleanup a day from now (a cron that fires once a year, at that minute): the notice window
      // (NOTICE_DAYS_BEFORE = 2 days) holds exactly that run, and no cleanup fires during the drill.
      const cleanupAt = new Date(Math.ceil((Date.now() + DAY_MS) / 60_000) * 60_000);
      const cron = `${cleanupAt.getUTCMinutes()} ${cleanupAt.getUTCHours()} ${cleanupAt.getUTCDate()} ${cleanupAt.getUTCMonth() + 1} *`;
      const p = await service('notices', url, {
        CLEANUP_CRON: cron,
        SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
        MAIL_FROM: 'Teddy <no-reply@teddy.example>',
        SMTP_TIMEOUT_MS: '2000',
        NOTICE_RETRY_BASE_SECONDS: '3',
        NOTICE_RETRY_MAX_SECONDS: '6',
        NOTICE_POLL_SECONDS: '1',
        LOG_LEVEL: 'error',
      });
      await pauseNoticeJob(p);
      const db = await drillDb(url);
      // Data that the cleanup a day from now deletes (30-day retention): 29.5 days old.
      const guardians = await seedNoticePopulation(db, GUARDIANS, new Date(Date.now() - 29.5 * DAY_MS), 3);
      const emails = new Map((await db.all('SELECT id, email FROM guardian')).map((r) => [String(r.id), String(r.email)]));

      // The notice job with SMTP down. Its own delivery pass tries every notice once; the poller
      // (every second) may take some of them first, so the pass's counts are not all of them.
      const downAt = Date.now();
      const run = await call(p, 'POST', '/admin/notifications/trigger', undefined, 'operator', 120_000);
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({
        // The cleanup a day away is within NOTICE_DAYS_BEFORE: told now, on short notice.
        shortNotices: GUARDIANS,
        noticesDue: GUARDIANS,
        noticesCreated: GUARDIANS,
        skippedGuardians: 0,
      });
      expect(run.body.delivery).toMatchObject({ sent: 0, dead: 0 });
      expect(run.body.run).toMatchObject({ status: 'succeeded', jobId: 'cleanup_notifications' });

      const notices = async () =>
        (await db.all('SELECT id, guardian_id, status, attempts, last_error, next_attempt_at, cleanup_at FROM notice')).map((r) => ({
          id: String(r.id),
          guardianId: String(r.guardian_id),
          status: String(r.status),
          attempts: Number(r.attempts),
          lastError: r.last_error as string | null,
        }));
      const afterRun = await notices();
      expect(afterRun).toHaveLength(GUARDIANS);
      expect(new Set(afterRun.map((n) => n.guardianId))).toEqual(new Set(guardians));
      // Every notice failed and waits for a retry: none sent, none given up.
      expect(afterRun.filter((n) => n.status !== 'failed').map((n) => `${n.id} ${n.status}`)).toEqual([]);
      for (const n of afterRun) {
        expect(n.attempts).toBeGreaterThanOrEqual(1);
        expect(n.lastError).toMatch(/^smtp: .*ECONNREFUSED/);
      }
      expect(sink.mails).toHaveLength(0);

      // A few more seconds down: the poller's retries fail too, and still give nothing up.
      await sleep(4000);
      const beforeUp = await notices();
      expect(beforeUp.filter((n) => n.status !== 'failed').map((n) => `${n.id} ${n.status}`)).toEqual([]);
      const attemptsWhileDown = beforeUp.reduce((sum, n) => sum + n.attempts, 0);

      // SMTP comes back on the same port; the poller's retries deliver.
      await sink.listen();
      const upAt = Date.now();
      const sentAt = await waitFor(
        'every notice to be sent',
        async () => (await count(db, "SELECT COUNT(*) AS n FROM notice WHERE status = 'sent'")) === GUARDIANS && Date.now(),
        90_000,
        100,
      );
      // A few more poll cycles: nothing is sent a second time.
      await sleep(3000);

      const final = await notices();
      expect(final.filter((n) => n.status !== 'sent').map((n) => `${n.id} ${n.status} ${n.lastError}`)).toEqual([]);
      const byMessageId = new Map<string, number>();
      for (const mail of sink.mails) byMessageId.set(mail.messageId, (byMessageId.get(mail.messageId) ?? 0) + 1);
      const duplicates = [...byMessageId.entries()].filter(([, n]) => n > 1);
      expect(duplicates).toEqual([]);
      expect(sink.mails).toHaveLength(GUARDIANS);
      expect([...byMessageId.keys()].sort()).toEqual(final.map((n) => `<${n.id}@teddy-scheduler>`).sort());
      // Each to its guardian.
      for (const n of final) {
        const mail = sink.mails.find((m) => m.messageId === `<${n.id}@teddy-scheduler>`)!;
        expect(mail.envelopeTo).toEqual([emails.get(n.guardianId)]);
      }
      const metrics = await scrape(p.url);
      expect(metric(metrics, 'teddy_notices_total{channel="smtp",status="sent"}')).toBe(GUARDIANS);
      expect(metric(metrics, 'teddy_notices_total{channel="smtp",status="dead"}')).toBe(0);
      expect(p.alive).toBe(true);

      const attempts = final.map((n) => n.attempts).sort((a, b) => a - b);
      figures(`smtp-down (${TEST_DB})`, {
        guardians: GUARDIANS,
        notices: final.length,
        outageMs: upAt - downAt,
        failedAttemptsWhileDown: attemptsWhileDown,
        recoveryMs: sentAt - upAt,
        mails: sink.mails.length,
        distinctMessageIds: byMessageId.size,
        duplicates: duplicates.length,
        attemptsPerNotice: `${attempts[0]}..${attempts[attempts.length - 1]}`,
        smtpFailedCounter: metric(metrics, 'teddy_notices_total{channel="smtp",status="failed"}'),
      });
    });
  }, 180_000);

  // ---------------------------------------------------------------------------------------------
  // 2. PostgreSQL restarted in the middle of a cleanup (PostgreSQL only, on a private cluster)
  // ---------------------------------------------------------------------------------------------

  pgIt(
    '[postgres] PostgreSQL restarted in the middle of a cleanup: whole batches only, the service recovers, the next run finishes',
    async () => {
      await res.explained(async () => {
        const SEEDED = 500_000;
        const BATCH = 100;
        const LEASE_SECONDS = 6;
        const cluster = await PrivatePostgres.create();
        res.add('destroy the private cluster', () => cluster.destroy());
        res.notes.push(() => `--- private cluster log ---\n${cluster.log()}`);
        const url = await cluster.createDatabase('teddy_drill');
        const p = await service('pg-restart', url, { CLEANUP_BATCH_SIZE: String(BATCH), SCHEDULER_LEASE_SECONDS: String(LEASE_SECONDS) });
        await pauseNoticeJob(p);
        let db = await openDrillDb(url);
        // In the cutoff's own day: deleted in batches, which the drill interrupts.
        await seedExpiredInCutoffDay(db, SEEDED);
        expect(await expiredMessages(db)).toBe(SEEDED);
        await db.close();

        // The cleanup, not awaited: its answer comes after the restart.
        const triggeredAt = Date.now();
        const interrupted = call(p, 'POST', '/admin/scheduler/cleanup/trigger', {}, 'operator', 240_000).then(
          (answer) => answer,
          (error: Error) => ({ status: -1, body: { error: error.message }, ms: Date.now() - triggeredAt }),
        );
        // Some batches first (the service counts them in /metrics as they commit).
        const deletedByMetric = async () => metric(await scrape(p.url), 'teddy_cleanup_deleted_total{table="message"}') ?? 0;
        await waitFor('the cleanup to commit 50 batches', async () => (await deletedByMetric()) >= 50 * BATCH, 60_000, 20);
        const seenBeforeRestart = await deletedByMetric();

        const stopAt = Date.now();
        await cluster.stop('fast');
        const downAt = Date.now();
        await cluster.start();
        const upAt = Date.now();
        const readyAt = await waitFor(
          '/health/ready to answer 200 again',
          async () => {
            try {
              const r = await fetch(`${p.url}/health/ready`, { signal: AbortSignal.timeout(4000) });
              return r.status === 200 && Date.now();
            } catch {
              return false;
            }
          },
          60_000,
          100,
        );
        expect(p.alive).toBe(true);
        const answer = await within(interrupted, 120_000);
        expect(answer).toBeDefined();

        db = await openDrillDb(url);
        res.add('close the drill connection', () => db.close());
        // Whole batches only: the messages are a millisecond apart, so every batch is exactly BATCH rows.
        const remaining = await expiredMessages(db);
        const deleted = SEEDED - remaining;
        const conversationsLeft = await count(db, 'SELECT COUNT(*) AS n FROM conversation');
        const orphans = await orphanMessages(db);

        // How the interrupted run ended: in its HTTP answer, in the ledger, in its cleanup report. The
        // ledger row and the report are written by the run itself when it ends; give them time to
        // appear (the database is back), then read what they say.
        const settled = await within(
          waitFor(
            'the interrupted run to leave "running" in the ledger',
            async () => (await ledgerRuns(db, 'daily_data_cleanup')).find((r) => r.status !== 'running'),
            15_000,
            250,
          ).catch(() => undefined),
          20_000,
        );
        const [run1] = await ledgerRuns(db, 'daily_data_cleanup');
        const [report1] = await cleanupReports(db);

        // The next run, by hand. While the interrupted run still holds the job (max_instances 1, its
        // lease not yet run out) the trigger answers 409: retried until a deadline.
        let conflicts = 0;
        const nextAt = Date.now();
        let next = await call(p, 'POST', '/admin/scheduler/cleanup/trigger', {}, 'operator', 240_000);
        while (next.status === 409 && Date.now() - nextAt < 90_000) {
          conflicts += 1;
          await sleep(500);
          next = await call(p, 'POST', '/admin/scheduler/cleanup/trigger', {}, 'operator', 240_000);
        }
        const leftAfterNext = await expiredMessages(db);
        const conversationsAfterNext = await count(db, 'SELECT COUNT(*) AS n FROM conversation');
        const runs = await ledgerRuns(db, 'daily_data_cleanup');
        const reports = await cleanupReports(db);
        const interruptedOutcome = answer!.body?.run?.status;

        figures('pg-restart', {
          seeded: SEEDED,
          batchSize: BATCH,
          batchesBeforeRestart: deleted / BATCH,
          deletedBeforeRestart: deleted,
          restartMs: upAt - stopAt,
          stopMs: downAt - stopAt,
          readyAfterStartMs: readyAt - upAt,
          readyAfterStopMs: readyAt - stopAt,
          interruptedAnswer: `HTTP ${answer!.status} run=${interruptedOutcome} report=${answer!.body?.status ?? '(none)'} after ${answer!.ms} ms, error="${String(answer!.body?.error ?? answer!.body?.run?.error ?? '').slice(0, 100)}"`,
          interruptedLedger: `${run1.status}${run1.error ? ` ("${run1.error.slice(0, 80)}")` : ''}${settled ? '' : ' (still, 15 s after the database was back)'}`,
          interruptedReport: `${report1.status} messagesDeleted=${report1.messagesDeleted} (actually deleted ${deleted})`,
          nextRun: `HTTP ${next.status} ${next.body?.status} ${next.body?.messagesDeleted} messages in ${next.body?.durationMs} ms after ${conflicts} x 409`,
          expiredLeft: leftAfterNext,
          ledgerAtEnd: runs.map((r) => r.status).join(','),
          reportsAtEnd: reports.map((r) => `${r.status}:${r.messagesDeleted}`).join(','),
        });

        // The service stayed up and is ready again.
        expect(p.alive).toBe(true);
        // The interrupted run answered (no hang), as failed, or as succeeded had it resumed.
        expect(answer!.status).toBe(200);
        expect(['failed', 'succeeded']).toContain(interruptedOutcome);
        // No half-applied batch, no dangling reference.
        expect(deleted % BATCH).toBe(0);
        expect(deleted).toBeGreaterThanOrEqual(seenBeforeRestart);
        expect(orphans).toBe(0);
        if (interruptedOutcome === 'failed') {
          expect(remaining).toBeGreaterThan(0);
          expect(conversationsLeft).toBe(1);
        }
        // The next run finished the work.
        expect(next.status).toBe(200);
        expect(next.body).toMatchObject({ status: 'succeeded', messagesDeleted: remaining, conversationsDeleted: conversationsLeft });
        expect(leftAfterNext).toBe(0);
        expect(conversationsAfterNext).toBe(0);

        // The interrupted run is recorded as it ended, in the ledger and in its cleanup report (the
        // deletion evidence), with what it deleted. Last, so that everything above is checked first.
        //
        // Fails as of 2026-11-28 (a bug in src/, left visible here): the run's end is written once,
        // right after the connection error, while the server is still shutting down
        // (CleanupService.execute's final save, then JobLedger.finish from SchedulerService.execute);
        // both fail with 57P03 and are never retried. The ledger row stays "running" for good (a
        // replica never reaps its own runs: JobLedger.reapExpired skips owner = itself), and the
        // report stays "running" with the counts of its last progress save (0 before 5 s), though
        // thousands of messages were deleted; the HTTP answer carries no report at all.
        expect({ ledger: run1.status, report: report1.status, reportMessagesDeleted: report1.messagesDeleted }).toEqual({
          ledger: interruptedOutcome,
          report: interruptedOutcome,
          reportMessagesDeleted: deleted,
        });
      });
    },
    300_000,
  );

  // ---------------------------------------------------------------------------------------------
  // 3. SIGKILL of the replica running the scheduled cleanup (PostgreSQL only)
  // ---------------------------------------------------------------------------------------------

  pgIt(
    '[postgres] SIGKILL of the replica running the scheduled daily_data_cleanup: the other replica reruns the fire (attempt 2) after the lease and leaves nothing expired',
    async () => {
      await res.explained(async () => {
        const SEEDED = 200_000;
        const url = await database();
        const env = { SCHEDULER_LEASE_SECONDS: '3', CLEANUP_BATCH_SIZE: '100' };
        const replicas = await Promise.all(
          ['replica-a', 'replica-b'].map(async (name) => res.service(await startService({ name, databaseUrl: url, env }))),
        );
        await Promise.all(replicas.map((r) => r.ready(60_000)));
        const [a] = replicas;
        const byPid = new Map(replicas.map((r) => [r.pid, r]));
        const db = await drillDb(url);
        // In the cutoff's own day: deleted in batches, which the drill interrupts.
        await seedExpiredInCutoffDay(db, SEEDED);
        await pauseNoticeJob(a);

        // The normal daily job, rescheduled to fire once, a few seconds from now (6-field cron, UTC):
        // both replicas learn of it at their next sync (every second) and race for the fire.
        const fire = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000);
        await a.expect(200, 'PATCH', '/admin/scheduler/jobs/daily_data_cleanup', {
          cron: `${fire.getUTCSeconds()} ${fire.getUTCMinutes()} ${fire.getUTCHours()} * * *`,
          timezone: 'UTC',
        });
        const first = await waitFor(
          'a replica to claim and start the fire',
          async () => (await ledgerRuns(db, 'daily_data_cleanup')).find((r) => r.status === 'running'),
          30_000,
          50,
        );
        expect(first).toMatchObject({ attempt: 1, trigger: 'scheduled', triggeredBy: 'scheduler', fireKey: fire.toISOString() });
        await waitFor('the run to commit its first batches', async () => (await expiredMessages(db)) <= SEEDED - 1000, 60_000, 20);

        const victim = byPid.get(ownerPid(first.owner))!;
        expect(victim).toBeDefined();
        const survivor = replicas.find((r) => r !== victim)!;
        const killedAt = Date.now();
        victim.signal('SIGKILL');
        await victim.exited;
        const [atKill] = await ledgerRuns(db, 'daily_data_cleanup');
        expect(atKill.status).toBe('running');
        const leftAtKill = await expiredMessages(db);
        expect(leftAtKill).toBeGreaterThan(0);
        expect(leftAtKill % 100).toBe(0);

        const rerun = await waitFor(
          'attempt 2 of the fire to end',
          async () => (await ledgerRuns(db, 'daily_data_cleanup')).find((r) => r.attempt === 2 && r.status !== 'running'),
          120_000,
          100,
        );
        const runs = await ledgerRuns(db, 'daily_data_cleanup');
        const abandoned = runs.find((r) => r.id === first.id)!;
        const left = await expiredMessages(db);
        const reports = await cleanupReports(db);
        figures('sigkill-scheduled-cleanup', {
          seeded: SEEDED,
          batchSize: 100,
          leaseSeconds: 3,
          victim: victim.name,
          survivor: survivor.name,
          leftAtKill,
          batchesBeforeKill: (SEEDED - leftAtKill) / 100,
          abandonedAfterMs: abandoned.finishedAt ? abandoned.finishedAt.getTime() - killedAt : null,
          attempt2StartedAfterMs: rerun.startedAt.getTime() - killedAt,
          attempt2FinishedAfterMs: rerun.finishedAt ? rerun.finishedAt.getTime() - killedAt : null,
          attempt2Deleted: rerun.summary?.messagesDeleted,
          attempt2Status: rerun.status,
          expiredLeft: left,
          ledger: runs.map((r) => `${r.attempt}:${r.status}`).join(','),
          // The killed run's report keeps its last progress save until a cleanup finds it stale (10 min).
          reports: reports.map((r) => `${r.status}:${r.messagesDeleted}`).join(','),
        });

        expect(runs).toHaveLength(2);
        expect(abandoned).toMatchObject({ attempt: 1, status: 'abandoned', fireKey: fire.toISOString() });
        expect(abandoned.error).toMatch(/stopped renewing the lease/);
        expect(abandoned.finishedAt!.getTime()).toBeGreaterThanOrEqual(atKill.leaseUntil!.getTime() - 50);
        expect(rerun).toMatchObject({ attempt: 2, status: 'succeeded', trigger: 'scheduled', fireKey: fire.toISOString() });
        expect(ownerPid(rerun.owner)).toBe(survivor.pid);
        expect(rerun.summary).toMatchObject({ rerunOf: abandoned.id, dryRun: false, messagesDeleted: leftAtKill, conversationsDeleted: 1 });
        expect(left).toBe(0);
        expect(await count(db, 'SELECT COUNT(*) AS n FROM conversation')).toBe(0);
        expect(await orphanMessages(db)).toBe(0);
        expect(survivor.alive).toBe(true);
        await survivor.expect(200, 'GET', '/health/ready');
      });
    },
    240_000,
  );

  // ---------------------------------------------------------------------------------------------
  // 4. 200 clients during a 1,000,000-message cleanup (both databases)
  // ---------------------------------------------------------------------------------------------

  it('[sqlite+postgres] 200 concurrent clients (status reads and message ingest) during a 1,000,000-message cleanup: no error, exact deletion, every ingested message kept', async () => {
    await res.explained(async () => {
      const TOTAL = 1_000_000;
      const EXPIRED = 900_000;
      /** How long the load runs at most, waiting for the cleanup to answer. */
      const LOAD_BUDGET_MS = 150_000;
      /** After the load: how long a cleanup still running gets to finish (a hang deadline). */
      const HANG_MS = 120_000;
      const url = await database();
      const p = await service('load', url, { LOG_LEVEL: 'warn', LOG_HTTP_REQUESTS: 'false' });
      await pauseNoticeJob(p);
      const db = await drillDb(url);
      const seedStarted = Date.now();
      const population = await seedBigPopulation(db, TOTAL, EXPIRED);
      const seedMs = Date.now() - seedStarted;
      expect(await expiredMessages(db)).toBe(EXPIRED);
      // On SQLite the seeding held this process's event loop for seconds: let it see the keep-alive
      // sockets the service closed meanwhile, or the next request would be sent on a dead one.
      await sleep(200);

      // Where the ingest clients write: a family of today, ten conversations, through the API.
      const guardian = await p.request(
        'POST',
        '/v1/guardians',
        { email: `load-${Date.now()}@example.com`, displayName: 'Load parent' },
        'ingest',
      );
      expect(guardian.status).toBe(201);
      const child = await p.request('POST', `/v1/guardians/${guardian.body.id}/children`, { displayName: 'Load child' }, 'ingest');
      expect(child.status).toBe(201);
      const conversations: string[] = [];
      for (let i = 0; i < 10; i++) {
        const c = await p.request('POST', `/v1/children/${child.body.id}/conversations`, {}, 'ingest');
        expect(c.status).toBe(201);
        conversations.push(c.body.id);
      }

      const ingested: string[] = [];
      let sent = 0;
      const lag = await sampleEventLoopLag(p.url, 500);
      res.add('stop the event-loop sampler', () => lag.stop());
      const status = startLoad({
        title: 'status',
        url: p.url,
        connections: 100,
        maxSeconds: 200,
        requests: [{ method: 'GET', path: '/admin/scheduler/status', headers: { 'x-api-key': SERVICE_KEYS.viewer } }],
      });
      res.add('stop the status load', () => status.stop());
      const ingest = startLoad({
        title: 'ingest',
        url: p.url,
        connections: 100,
        maxSeconds: 200,
        requests: [
          {
            method: 'POST',
            path: `/v1/conversations/${conversations[0]}/messages`,
            headers: { 'x-api-key': SERVICE_KEYS.ingest, 'content-type': 'application/json' },
            setupRequest: (request) => {
              sent += 1;
              return {
                ...request,
                path: `/v1/conversations/${conversations[sent % conversations.length]}/messages`,
                body: JSON.stringify({
                  role: sent % 2 ? 'child' : 'teddy',
                  text: `load ${sent}`,
                  createdAt: new Date(Date.now() - 1000).toISOString(),
                }),
              };
            },
            onResponse: (code, body) => {
              if (code === 201) ingested.push(JSON.parse(body).id);
            },
          },
        ],
      });
      res.add('stop the ingest load', () => ingest.stop());
      // The load first, then the cleanup under it; the load runs until the cleanup answers, or for
      // LOAD_BUDGET_MS at most. A cleanup still running then is not a failure (slow is not hung):
      // the load stops, the figures say how far it got, and it gets HANG_MS more to finish alone.
      await sleep(1000);
      const cleanupStarted = Date.now();
      const cleanupCall = call(p, 'POST', '/admin/scheduler/cleanup/trigger', {}, 'operator', LOAD_BUDGET_MS + HANG_MS).then(
        (answer) => ({ answer, error: undefined, at: Date.now() }),
        (error: Error) => ({ answer: undefined, error: error.message, at: Date.now() }),
      );
      const underLoad = await within(cleanupCall, LOAD_BUDGET_MS);
      const deletedWhenLoadStopped = underLoad
        ? undefined
        : await scrape(p.url).then((t) => metric(t, 'teddy_cleanup_deleted_total{table="message"}'));
      const [statusResult, ingestResult] = await Promise.all([status.stop(), ingest.stop()]);
      const lagFigures = await lag.stop();
      const ended = underLoad ?? (await within(cleanupCall, HANG_MS));
      const cleanup = ended?.answer;
      const cleanupError = ended ? ended.error : `no answer within ${LOAD_BUDGET_MS + HANG_MS} ms`;
      const cleanupWallMs = ended ? ended.at - cleanupStarted : undefined;

      // Every ingested message (201 answered) is still there; the seeded young ones too.
      let found = 0;
      for (let i = 0; i < ingested.length; i += 1000) {
        const chunk = ingested.slice(i, i + 1000);
        found += await count(db, `SELECT COUNT(*) AS n FROM message WHERE id IN (${chunk.map((_, j) => `$${j + 1}`).join(', ')})`, chunk);
      }
      const inIngestConversations = await count(
        db,
        `SELECT COUNT(*) AS n FROM message WHERE conversation_id IN (${conversations.map((_, j) => `$${j + 1}`).join(', ')})`,
        conversations,
      );
      const youngSeeded = await count(db, "SELECT COUNT(*) AS n FROM message WHERE text = 'kept'");
      const expiredLeft = await expiredMessages(db);

      figures(`load-1m (${TEST_DB})`, {
        seeded: TOTAL,
        expired: EXPIRED,
        seedMs,
        statusRequests: statusResult.requests.total,
        statusRps: Math.round(statusResult.requests.total / statusResult.duration),
        statusP50Ms: statusResult.latency.p50,
        statusP99Ms: statusResult.latency.p99,
        statusMaxMs: statusResult.latency.max,
        ingestRequests: ingestResult.requests.total,
        ingestRps: Math.round(ingestResult.requests.total / ingestResult.duration),
        ingestP50Ms: ingestResult.latency.p50,
        ingestP99Ms: ingestResult.latency.p99,
        ingestMaxMs: ingestResult.latency.max,
        errors: `status ${statusResult.errors}/${statusResult.non2xx} ingest ${ingestResult.errors}/${ingestResult.non2xx} (socket/non-2xx)`,
        maxEventLoopLagMs: Math.round(lagFigures.maxLagSeconds * 1000),
        maxEventLoopP99Ms: Math.round(lagFigures.maxP99Seconds * 1000),
        lagSamples: lagFigures.samples,
        lagSeriesMs: lagFigures.series.map((x) => x.maxMs).join('/'),
        cleanupStatus: cleanup ? `HTTP ${cleanup.status} ${cleanup.body?.status}` : `no answer: ${cleanupError}`,
        cleanupMs: cleanup?.body?.durationMs,
        cleanupWallMs,
        finishedUnderLoad: underLoad !== undefined,
        ...(underLoad ? {} : { deletedWhenLoadStopped }),
        deletedMessages: cleanup?.body?.messagesDeleted,
        deletedConversations: cleanup?.body?.conversationsDeleted,
        batches: cleanup?.body?.batches,
        maxBatchMs: cleanup?.body?.maxBatchMs,
        ingested201: ingested.length,
        ingestedFound: found,
        inIngestConversations,
      });

      expect(cleanupError).toBeUndefined();
      expect(statusResult.errors).toBe(0);
      expect(statusResult.non2xx).toBe(0);
      expect(ingestResult.errors).toBe(0);
      expect(ingestResult.non2xx).toBe(0);
      expect({
        status: [...status.statuses],
        ingest: [...ingest.statuses],
        errors: [...status.errorSamples, ...ingest.errorSamples],
      }).toEqual({ status: [], ingest: [], errors: [] });
      expect(statusResult.requests.total).toBeGreaterThan(0);
      expect(ingested.length).toBeGreaterThan(0);
      expect(ingestResult['2xx']).toBe(ingested.length);

      expect(cleanup!.status).toBe(200);
      expect(cleanup!.body).toMatchObject({
        status: 'succeeded',
        messagesDeleted: population.expired,
        conversationsDeleted: population.expiredConversations,
        error: null,
      });
      expect(expiredLeft).toBe(0);
      expect(youngSeeded).toBe(TOTAL - EXPIRED);
      expect(found).toBe(ingested.length);
      // Requests still in flight when the load stopped may have been written without their answer being read.
      expect(inIngestConversations).toBeGreaterThanOrEqual(ingested.length);
      expect(await orphanMessages(db)).toBe(0);
      expect(p.alive).toBe(true);
    });
  }, 420_000);
});

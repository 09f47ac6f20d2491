import { scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';
import { count, DrillDb, LedgerRun, ledgerRuns, openDrillDb } from './support/drills/db';
import { DAY_MS, seedExpiredInCutoffDay } from './support/drills/seed';
import { ServiceProcess, startService, startServices, waitFor, within } from './support/service-process';

/*
 * The scheduler across real processes: `node dist/src/main.js` (npm run build first), several of them
 * on one database where the database allows it. What the in-process tests cannot show: separate
 * clocks, timers and connection pools racing for the same fires, a replica that dies without a
 * word (SIGKILL), and a replica told to stop (SIGTERM) in the middle of a run.
 *
 * No timing thresholds: the figures (fire-to-start lag, recovery time) are printed, never asserted.
 * Waits poll the ledger with deadlines that are only there to end a hung test.
 */

const PG = TEST_DB === 'postgres';
const pgDescribe = PG ? describe : describe.skip;

/** RETENTION_DAYS of the spawned services (the default). */
const RETENTION_DAYS = 30;

// ---------------------------------------------------------------------------------------------
// Reading and seeding the database from the test, next to the running services.
// ---------------------------------------------------------------------------------------------

type Db = DrillDb;

const openDb = (database: ScratchDatabase): Promise<Db> => openDrillDb(database.url);

/** Every job_run row of a job, straight from the ledger, in fire then attempt order. */
async function runsOf(db: Db, jobId: string): Promise<LedgerRun[]> {
  return (await ledgerRuns(db, jobId)).sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime() || a.attempt - b.attempt);
}

/** Messages older than the retention as of now. */
async function expiredMessages(db: Db): Promise<number> {
  return count(db, 'SELECT COUNT(*) AS n FROM message WHERE created_at <= $1', [db.ts(new Date(Date.now() - RETENTION_DAYS * DAY_MS))]);
}

/** `messages` messages created 60 days ago in one conversation: with CLEANUP_BATCH_SIZE=100 their cleanup takes seconds. */
async function seedExpired(db: Db, messages: number): Promise<void> {
  // In the cutoff's own day: the runs these tests kill, freeze and stop delete it in batches.
  await seedExpiredInCutoffDay(db, messages);
}

// ---------------------------------------------------------------------------------------------
// Steering the services.
// ---------------------------------------------------------------------------------------------

/** Pauses both built-in jobs, so that only the jobs a test adds run. */
async function pauseBuiltins(p: ServiceProcess): Promise<void> {
  for (const id of ['daily_data_cleanup', 'cleanup_notifications']) {
    const job = await p.expect(200, 'PATCH', `/admin/scheduler/jobs/${id}`, { paused: true });
    expect(job.paused).toBe(true);
  }
}

/**
 * Adds a cleanup job whose cron (6 fields, UTC) fires once a day at a whole second about `leadMs`
 * from now: once in the test. The lead leaves every replica a sync (SCHEDULER_SYNC_SECONDS=1) to
 * learn of it first.
 */
async function addOneShotCleanup(p: ServiceProcess, id: string, leadMs = 3500): Promise<Date> {
  const at = new Date(Math.ceil((Date.now() + leadMs) / 1000) * 1000);
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
  await p.expect(201, 'POST', '/admin/scheduler/jobs', { id, name: `Test ${id}`, task: 'cleanup', cron, timezone: 'UTC' });
  return at;
}

/** The pid in a run's owner (host:pid:random). */
function ownerPid(owner: string | null): number {
  const parts = (owner ?? '').split(':');
  return Number(parts[parts.length - 2]);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function report(lines: string[]): void {
  // One console.log per test, so jest prints the figures together.
  console.log(lines.join('\n'));
}

describe(`the scheduler across service processes (${TEST_DB})`, () => {
  /** Every process a test starts; afterEach kills what is left, whatever happened. */
  const procs: ServiceProcess[] = [];
  let database: ScratchDatabase | undefined;
  let db: Db | undefined;

  beforeEach(async () => {
    database = await scratchDatabase();
  });

  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()));
    await db?.close().catch(() => undefined);
    db = undefined;
    await database?.drop();
    database = undefined;
  });

  /** Runs a test body; on failure, adds the tail of every service's output to the error. */
  async function explained(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      const logs = procs.map((p) => `--- ${p.name} (pid ${p.pid}, ${p.alive ? 'running' : 'exited'}) ---\n${p.tail(25)}`).join('\n');
      if (error instanceof Error) error.message += `\n\nservice output:\n${logs}`;
      throw error;
    }
  }

  async function connect(): Promise<Db> {
    db = await openDb(database!);
    return db;
  }

  pgDescribe('three replicas on one PostgreSQL database', () => {
    it('run an every-second job exactly once per fire: no duplicate, no gap, each fire with its cleanup report', async () => {
      await explained(async () => {
        const [a, b, c] = await startServices(['replica-a', 'replica-b', 'replica-c'], { databaseUrl: database!.url }, procs);
        const names = new Map(procs.map((p) => [p.pid, p.name]));
        const ledger = await connect();
        await pauseBuiltins(a);

        const jobId = 'every_second';
        await a.expect(201, 'POST', '/admin/scheduler/jobs', {
          id: jobId,
          name: 'Every second',
          task: 'cleanup',
          cron: '* * * * * *',
          timezone: 'UTC',
          coalesce: false,
          maxInstances: 1,
        });
        // The other replicas learn of the job at their next sync; from then on all three race for each fire.
        await waitFor(
          '60 fires and more',
          async () => (await count(ledger, 'SELECT COUNT(*) AS n FROM job_run WHERE job_id = $1', [jobId])) >= 63,
          110_000,
          1000,
        );

        const pausedAt = Date.now();
        await b.expect(200, 'PATCH', `/admin/scheduler/jobs/${jobId}`, { paused: true });
        // Replicas that have not synced yet may still claim a fire or two; wait until the ledger is still.
        let last = -1;
        await waitFor(
          'the ledger to settle after the pause',
          async () => {
            const n = await count(ledger, 'SELECT COUNT(*) AS n FROM job_run WHERE job_id = $1', [jobId]);
            const running = await count(ledger, "SELECT COUNT(*) AS n FROM job_run WHERE job_id = $1 AND status = 'running'", [jobId]);
            const settled = n === last && running === 0;
            last = n;
            return settled;
          },
          20_000,
          2500,
        );

        const runs = await runsOf(ledger, jobId);
        const first = runs[0].scheduledFor.getTime();
        const lastFire = runs[runs.length - 1].scheduledFor.getTime();
        expect(runs.length).toBeGreaterThanOrEqual(60);

        // No duplicate: one row per fire (and the unique key admits one per attempt).
        const perFire = new Map<number, number>();
        for (const r of runs) perFire.set(r.scheduledFor.getTime(), (perFire.get(r.scheduledFor.getTime()) ?? 0) + 1);
        expect([...perFire.entries()].filter(([, n]) => n !== 1).map(([at, n]) => `${new Date(at).toISOString()} x${n}`)).toEqual([]);
        // No gap: every whole second from the first fire to the last.
        const missing: string[] = [];
        for (let at = first; at <= lastFire; at += 1000) if (!perFire.has(at)) missing.push(new Date(at).toISOString());
        expect(missing).toEqual([]);
        expect(runs).toHaveLength((lastFire - first) / 1000 + 1);
        for (const r of runs) expect(r.scheduledFor.getTime() % 1000).toBe(0);

        // Every fire ran, once, on schedule, to the end.
        const odd = runs.filter(
          (r) => r.status !== 'succeeded' || r.attempt !== 1 || r.trigger !== 'scheduled' || r.triggeredBy !== 'scheduler' || !r.finishedAt,
        );
        expect(odd.map((r) => `${r.fireKey} ${r.status} attempt ${r.attempt} ${r.trigger} ${r.error ?? ''}`)).toEqual([]);
        for (const r of runs) expect(r.fireKey).toBe(r.scheduledFor.toISOString());

        // No replica ran a fire without its ledger row: one scheduled cleanup report per run, and each run names its own.
        const reports = await ledger.all('SELECT id FROM cleanup_report WHERE "trigger" = \'scheduled\'');
        expect(reports).toHaveLength(runs.length);
        const reportIds = new Set(reports.map((r) => String(r.id)));
        const named = runs.map((r) => String(r.summary?.reportId));
        expect(new Set(named).size).toBe(runs.length);
        expect(named.filter((id) => !reportIds.has(id))).toEqual([]);

        // The admin API (on a third replica, as a viewer) shows the same runs.
        const listed: string[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await c.request(
            'GET',
            `/admin/scheduler/jobs/${jobId}/runs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            undefined,
            'viewer',
          );
          expect(page.status).toBe(200);
          listed.push(...page.body.items.map((i: { id: string }) => i.id));
          cursor = page.body.nextCursor;
        } while (cursor);
        expect(listed.sort()).toEqual(runs.map((r) => r.id).sort());

        // Who won the fires. Not asserted: which replica's claim commits first is a race, and one
        // replica winning every fire would still be correct (each fire ran exactly once).
        const perOwner = new Map<string, number>();
        for (const r of runs) perOwner.set(r.owner!, (perOwner.get(r.owner!) ?? 0) + 1);
        const lags = runs.map((r) => r.startedAt.getTime() - r.scheduledFor.getTime()).sort((x, y) => x - y);
        const afterPause = runs.filter((r) => r.scheduledFor.getTime() > pausedAt).length;
        report([
          `[scheduler-cluster] 3 replicas, '* * * * * *': ${runs.length} fires from ${new Date(first).toISOString()} to ${new Date(lastFire).toISOString()}, each run once`,
          `[scheduler-cluster] fires won per replica: ${[...perOwner.entries()].map(([owner, n]) => `${names.get(ownerPid(owner)) ?? owner}=${n}`).join(', ')} (${perOwner.size} distinct owners)`,
          `[scheduler-cluster] fire -> start lag: p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms, max ${lags[lags.length - 1]} ms`,
          `[scheduler-cluster] fires claimed after the pause (replicas not yet synced): ${afterPause}`,
        ]);
        expect(perOwner.size).toBeGreaterThanOrEqual(1);
        for (const owner of perOwner.keys()) expect(names.has(ownerPid(owner))).toBe(true);
      });
    }, 180_000);
  });

  /**
   * Two replicas (lease 3 s, batches of 100) and a one-shot cleanup of 200,000 expired messages,
   * caught once the replica that claimed it has committed its first batches: half-done work that
   * the other replica must take over when this one dies or freezes.
   */
  async function midCleanup(jobId: string) {
    const env = { SCHEDULER_LEASE_SECONDS: '3', CLEANUP_BATCH_SIZE: '100' };
    const [a] = await startServices(['replica-a', 'replica-b'], { databaseUrl: database!.url, env }, procs);
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    const ledger = await connect();
    const MESSAGES = 200_000;
    await seedExpired(ledger, MESSAGES);
    await pauseBuiltins(a);
    const fire = await addOneShotCleanup(a, jobId);
    const first = await waitFor(
      'a replica to claim and start the fire',
      async () => (await runsOf(ledger, jobId)).find((r) => r.status === 'running'),
      20_000,
      50,
    );
    await waitFor('the run to delete its first batches', async () => (await expiredMessages(ledger)) <= MESSAGES - 1000, 30_000, 20);
    const victim = byPid.get(ownerPid(first.owner))!;
    const survivor = procs.find((p) => p !== victim)!;
    return { ledger, MESSAGES, fire, first, victim, survivor };
  }

  pgDescribe('a replica killed (SIGKILL) in the middle of a run', () => {
    it('loses its run when the lease runs out: the other replica marks it abandoned and runs the same fire again as attempt 2', async () => {
      await explained(async () => {
        const jobId = 'cleanup_once';
        // Killed once it has committed some batches, so that the dead replica leaves half-done work behind.
        const { ledger, MESSAGES, fire, first, victim, survivor } = await midCleanup(jobId);
        expect(victim).toBeDefined();
        expect(first).toMatchObject({ attempt: 1, trigger: 'scheduled', fireKey: fire.toISOString() });

        const killedAt = Date.now();
        victim.signal('SIGKILL');
        await victim.exited;
        const [atKill] = await runsOf(ledger, jobId);
        // Precondition: the run was cut off (a run that finished first would have said so in the ledger).
        expect(atKill.status).toBe('running');
        const leftAtKill = await expiredMessages(ledger);
        expect(leftAtKill).toBeGreaterThan(0);
        expect(leftAtKill).toBeLessThan(MESSAGES);

        const rerun = await waitFor(
          'attempt 2 of the fire to succeed',
          async () => (await runsOf(ledger, jobId)).find((r) => r.attempt === 2 && r.status !== 'running'),
          90_000,
          100,
        );
        const runs = await runsOf(ledger, jobId);
        expect(runs).toHaveLength(2);
        const [abandoned] = runs;
        expect(abandoned).toMatchObject({ id: first.id, attempt: 1, status: 'abandoned', owner: first.owner, fireKey: fire.toISOString() });
        expect(abandoned.error).toMatch(/stopped renewing the lease/);
        expect(abandoned.finishedAt).not.toBeNull();
        // Not before the dead replica's last lease ran out (lease times are the database's clock, the
        // abandoning replica's clock is the same host's).
        expect(atKill.leaseUntil).not.toBeNull();
        expect(abandoned.finishedAt!.getTime()).toBeGreaterThanOrEqual(atKill.leaseUntil!.getTime() - 50);
        expect(rerun).toMatchObject({
          attempt: 2,
          status: 'succeeded',
          trigger: 'scheduled',
          triggeredBy: 'scheduler',
          fireKey: fire.toISOString(),
        });
        expect(rerun.scheduledFor.getTime()).toBe(fire.getTime());
        expect(rerun.owner).not.toBe(abandoned.owner);
        expect(ownerPid(rerun.owner)).toBe(survivor.pid);
        expect(rerun.summary).toMatchObject({ rerunOf: abandoned.id, dryRun: false, conversationsDeleted: 1 });
        expect(rerun.summary!.messagesDeleted).toBeGreaterThan(0);
        expect(rerun.summary!.messagesDeleted).toBeLessThanOrEqual(leftAtKill);

        // Nothing expired is left: the rerun finished what the dead replica started.
        expect(await expiredMessages(ledger)).toBe(0);
        expect(await count(ledger, 'SELECT COUNT(*) AS n FROM conversation')).toBe(0);
        // The survivor kept serving throughout.
        expect(survivor.alive).toBe(true);
        await survivor.expect(200, 'GET', '/health/ready');

        // The dead replica's cleanup report stays as it was (running) until a later cleanup finds it stale;
        // the rerun's report is the evidence of the deletion.
        const reports = await ledger.all('SELECT id, status FROM cleanup_report ORDER BY started_at');
        expect(reports.find((r) => String(r.id) === rerun.summary!.reportId)?.status).toBe('succeeded');
        report([
          `[scheduler-cluster] SIGKILL of ${victim.name} mid-run (${leftAtKill} of ${MESSAGES} expired messages left at the kill; lease 3 s; cleanup reports: ${reports.map((r) => r.status).join(', ')}):`,
          `[scheduler-cluster]   abandoned after ${abandoned.finishedAt!.getTime() - killedAt} ms, attempt 2 on ${survivor.name} started after ${rerun.startedAt.getTime() - killedAt} ms, succeeded after ${rerun.finishedAt!.getTime() - killedAt} ms (deleted ${rerun.summary!.messagesDeleted} messages)`,
        ]);
      });
    }, 150_000);
  });

  pgDescribe('a replica frozen (SIGSTOP) past its lease and thawed', () => {
    it('writes nothing after thawing: the fire succeeds once, by the replica that took it over', async () => {
      await explained(async () => {
        const jobId = 'cleanup_frozen';
        const { ledger, victim, survivor } = await midCleanup(jobId);
        victim.signal('SIGSTOP');
        const frozenAt = Date.now();
        try {
          // Past its lease, the other replica marks the run abandoned and runs the fire again, to the end.
          const rerun = await waitFor(
            'attempt 2 of the fire to succeed',
            async () => (await runsOf(ledger, jobId)).find((r) => r.attempt === 2 && r.status !== 'running'),
            90_000,
            100,
          );
          expect(rerun).toMatchObject({ status: 'succeeded' });
          expect(ownerPid(rerun.owner)).toBe(survivor.pid);
          expect(await expiredMessages(ledger)).toBe(0);
        } finally {
          victim.signal('SIGCONT');
        }
        // New expired data after the rerun: what the thawed run would delete next if it could still write.
        const FRESH = 500;
        await seedExpired(ledger, FRESH);
        const thawedAt = Date.now();
        const [frozenReport] = await ledger.all('SELECT id, status, messages_deleted, error FROM cleanup_report ORDER BY started_at');
        const ended = await waitFor(
          'the thawed run to stop',
          async () => {
            const [row] = await ledger.all('SELECT status, messages_deleted, error FROM cleanup_report WHERE id = $1', [frozenReport.id]);
            return row.status !== 'running' ? row : undefined;
          },
          30_000,
          50,
        );
        expect(ended.status).toBe('abandoned');
        expect(String(ended.error)).toMatch(/lost its lease/);
        // Nothing written after the thaw: the fresh rows are all there, and the ledger says abandoned,
        // then succeeded, once.
        expect(await expiredMessages(ledger)).toBe(FRESH);
        const runs = await runsOf(ledger, jobId);
        expect(runs.map((r) => [r.attempt, r.status])).toEqual([
          [1, 'abandoned'],
          [2, 'succeeded'],
        ]);
        expect(victim.alive).toBe(true);
        await victim.expect(200, 'GET', '/health/ready');
        report([
          `[scheduler-cluster] SIGSTOP of ${victim.name} mid-run (lease 3 s): attempt 2 on ${survivor.name} succeeded; thawed after ${thawedAt - frozenAt} ms, the frozen run stopped at its fence after ${Number(ended.messages_deleted)} messages, and deleted none of ${FRESH} new expired ones`,
        ]);
      });
    }, 150_000);
  });

  pgDescribe('a run cancelled from another replica', () => {
    it('stops where it runs within seconds, through the database: the run ends cancelled, writes nothing more, and is not run again', async () => {
      await explained(async () => {
        const jobId = 'cleanup_cancelled';
        const { ledger, first, victim, survivor } = await midCleanup(jobId);
        const askedAt = Date.now();
        const answer = await survivor.expect(202, 'POST', `/admin/scheduler/runs/${first.id}/cancel`, {});
        const answeredAt = Date.now();
        expect(answer).toMatchObject({ id: first.id, status: 'cancelled', owner: first.owner });
        // Where it runs: its task stops at its next batch or watch, and its report says how far it got.
        const [reportRow] = await ledger.all('SELECT id FROM cleanup_report ORDER BY started_at');
        const stopped = await waitFor(
          'the cancelled cleanup to stop',
          async () => {
            const [row] = await ledger.all('SELECT status, messages_deleted, error FROM cleanup_report WHERE id = $1', [reportRow.id]);
            return row.status !== 'running' ? row : undefined;
          },
          10_000,
          10,
        );
        const stoppedAt = Date.now();
        expect(stopped.status).toBe('cancelled');
        expect(String(stopped.error)).toMatch(/deleted stay deleted\): cancelled by operator/);
        const left = await expiredMessages(ledger);
        expect(left).toBe(200_000 - Number(stopped.messages_deleted));
        // Past two leases and reaps: nothing more deleted, no second attempt, the run stays cancelled with its summary.
        await new Promise((r) => setTimeout(r, 7000));
        expect(await expiredMessages(ledger)).toBe(left);
        const runs = await runsOf(ledger, jobId);
        expect(runs.map((r) => [r.attempt, r.status])).toEqual([[1, 'cancelled']]);
        expect(runs[0].summary).toMatchObject({ messagesDeleted: Number(stopped.messages_deleted) });
        const metricsOf = async (p: typeof victim) => String((await p.request('GET', '/metrics')).body);
        expect(await metricsOf(victim)).toMatch(new RegExp(`^teddy_job_running\\{job_id="${jobId}"\\} 0$`, 'm'));
        expect(await metricsOf(survivor)).toMatch(new RegExp(`^teddy_job_runs_total\\{job_id="${jobId}",status="cancelled"\\} 1$`, 'm'));
        report([
          `[scheduler-cluster] cancel on ${survivor.name} of a cleanup running on ${victim.name}: answered in ${answeredAt - askedAt} ms, the run stopped (report final) ${stoppedAt - askedAt} ms after the request, ${Number(stopped.messages_deleted)} messages deleted before it`,
        ]);
      });
    }, 150_000);
  });

  describe('a replica told to stop (SIGTERM) during a run', () => {
    /** Messages the cleanup deletes, 100 per batch: a few seconds of work on either database. */
    const MESSAGES = PG ? 150_000 : 250_000;

    async function runningCleanup(env: Record<string, string>) {
      const [p] = await startServices(['replica'], { databaseUrl: database!.url, env: { CLEANUP_BATCH_SIZE: '100', ...env } }, procs);
      const ledger = await connect();
      await seedExpired(ledger, MESSAGES);
      await pauseBuiltins(p);
      const jobId = 'cleanup_once';
      const fire = await addOneShotCleanup(p, jobId, 2500);
      const run = await waitFor(
        'the fire to start',
        async () => (await runsOf(ledger, jobId)).find((r) => r.status === 'running'),
        20_000,
        50,
      );
      expect(run).toMatchObject({ attempt: 1, trigger: 'scheduled', fireKey: fire.toISOString() });
      expect(ownerPid(run.owner)).toBe(p.pid);
      return { p, ledger, jobId, fire, run };
    }

    it('waits for the run to finish (within SHUTDOWN_TIMEOUT_MS), records it succeeded, then exits', async () => {
      await explained(async () => {
        const { p, ledger, jobId, run } = await runningCleanup({ SHUTDOWN_TIMEOUT_MS: '120000' });
        const termAt = Date.now();
        p.signal('SIGTERM');
        const exit = await within(p.exited, 100_000);
        expect(exit).toBeDefined();

        // Nest's shutdown hooks run every module's shutdown, then exit (useProcessExit): an orderly shutdown exits 0.
        expect(exit!.code).toBe(0);
        expect(p.output()).toMatch(/shutting down: waiting up to 120000 ms for 1 running job\(s\): cleanup_once/);
        expect(p.output()).toMatch(/shutting down: every running job finished/);
        const [done] = await runsOf(ledger, jobId);
        expect(done).toMatchObject({ id: run.id, status: 'succeeded', attempt: 1, error: null, owner: run.owner });
        expect(done.finishedAt).not.toBeNull();
        expect(done.leaseUntil).toBeNull();
        // It finished after the signal, and the process ended after it finished: the signal waited for it.
        expect(done.finishedAt!.getTime()).toBeGreaterThanOrEqual(termAt - 50);
        expect(exit!.at).toBeGreaterThanOrEqual(done.finishedAt!.getTime() - 50);
        expect(done.summary).toMatchObject({ messagesDeleted: MESSAGES, conversationsDeleted: 1 });
        expect(await expiredMessages(ledger)).toBe(0);
        const reports = await ledger.all('SELECT status FROM cleanup_report');
        expect(reports.map((r) => r.status)).toEqual(['succeeded']);
        report([
          `[scheduler-cluster] SIGTERM mid-run (${TEST_DB}): the run finished ${done.finishedAt!.getTime() - termAt} ms after the signal, the process exited ${exit!.at - done.finishedAt!.getTime()} ms after that (${exit!.signal ?? `code ${exit!.code}`})`,
        ]);
      });
    }, 150_000);

    it('gives the run up after SHUTDOWN_TIMEOUT_MS: recorded abandoned, the process exits, and the next replica runs the fire again', async () => {
      await explained(async () => {
        const { p, ledger, jobId, fire, run } = await runningCleanup({ SHUTDOWN_TIMEOUT_MS: '200' });
        const termAt = Date.now();
        p.signal('SIGTERM');
        const exit = await within(p.exited, 60_000);
        expect(exit).toBeDefined();
        expect(exit!.code).toBe(0);
        expect(p.output()).toMatch(/shutting down: gave up 1 unfinished run\(s\): cleanup_once/);

        const [given] = await runsOf(ledger, jobId);
        expect(given).toMatchObject({ id: run.id, attempt: 1 });
        expect(given.status).toBe('abandoned');
        expect(given.error).toMatch(/shut down before the run finished \(SHUTDOWN_TIMEOUT_MS=200\)/);
        expect(given.finishedAt).not.toBeNull();
        expect(given.leaseUntil).toBeNull();
        const leftAtExit = await expiredMessages(ledger);
        expect(leftAtExit).toBeGreaterThan(0);
        // Stopped at its fence before the process exited, the run's report says how far it got.
        const [givenReport] = await ledger.all('SELECT status, messages_deleted, error FROM cleanup_report ORDER BY started_at');
        expect(givenReport.status).toBe('abandoned');
        expect(Number(givenReport.messages_deleted)).toBe(MESSAGES - leftAtExit);
        expect(String(givenReport.error)).toMatch(
          /stopped after \d+ batches \(the \d+ messages and 0 conversations deleted stay deleted\): the replica shut down/,
        );

        // A replica starting next (here: the same service started again) runs the abandoned fire at
        // once, as attempt 2, without waiting for any lease.
        const startAgain = Date.now();
        const next = await startService({ name: 'replica-next', databaseUrl: database!.url, env: { CLEANUP_BATCH_SIZE: '100' } });
        procs.push(next);
        await next.ready();
        const rerun = await waitFor(
          'attempt 2 of the fire to finish',
          async () => (await runsOf(ledger, jobId)).find((r) => r.attempt === 2 && r.status !== 'running'),
          90_000,
          100,
        );
        expect(rerun).toMatchObject({ status: 'succeeded', trigger: 'scheduled', fireKey: fire.toISOString() });
        expect(rerun.summary).toMatchObject({ rerunOf: given.id, conversationsDeleted: 1 });
        expect(ownerPid(rerun.owner)).toBe(next.pid);
        expect(await runsOf(ledger, jobId)).toHaveLength(2);
        expect(await expiredMessages(ledger)).toBe(0);
        const reports = await ledger.all('SELECT status FROM cleanup_report ORDER BY started_at');
        report([
          `[scheduler-cluster] SIGTERM with SHUTDOWN_TIMEOUT_MS=200 (${TEST_DB}): exited ${exit!.at - termAt} ms after the signal (${exit!.signal ?? `code ${exit!.code}`}), ${leftAtExit} of ${MESSAGES} messages left;` +
            ` attempt 2 succeeded ${rerun.finishedAt!.getTime() - startAgain} ms after the next replica was started; cleanup reports: ${reports.map((r) => r.status).join(', ')}`,
        ]);
      });
    }, 150_000);
  });
});

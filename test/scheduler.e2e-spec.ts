import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CleanupService } from '../src/cleanup/cleanup.service';
import { FixedClock } from '../src/common/clock';
import { NoticeService } from '../src/notifications/notice.service';
import { JobCatalogue } from '../src/scheduler/job-catalogue';
import { JobRun } from '../src/scheduler/job-run.entity';
import { SchedulerService } from '../src/scheduler/scheduler.service';
import { startApp, TestApp } from './support/app';
import { metric, until } from './support/probes';
import { BUILTIN_JOBS, scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';
import { addMessages, iso, newFamily } from './support/factories';

const DAY = 86_400_000;
const CLI = resolve(__dirname, '../dist/src/cli/job.js');

const engineOf = (t: TestApp) => t.app.get(SchedulerService);
const catalogueOf = (t: TestApp) => t.app.get(JobCatalogue);

async function runsOf(t: TestApp, jobId: string): Promise<JobRun[]> {
  return t.dataSource.getRepository(JobRun).find({ where: { jobId }, order: { scheduledFor: 'ASC', attempt: 'ASC' } });
}

/** Holds every cleanup at its start until opened: a run "longer than the interval", with no sleeping. */
function holdCleanups(t: TestApp): { open(): void; restore(): void } {
  const service = t.app.get(CleanupService);
  const original = service.run.bind(service);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const spy = jest.spyOn(service, 'run').mockImplementation(async (options) => {
    await gate;
    return original(options);
  });
  return { open, restore: () => spy.mockRestore() };
}

/** Independent of the scheduler: the Berlin wall-clock time of an instant, read with Intl. */
function berlinWallClock(ms: number): string {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/Berlin',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  return f.format(new Date(ms)).replace(', ', 'T');
}

describe(`scheduler with a fake clock (${TEST_DB})`, () => {
  describe('midnight UTC', () => {
    const clock = new FixedClock(new Date('2026-11-28T23:59:59.000Z'));
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ clock });
    });
    afterAll(() => t.close());

    it('keeps the old status shape, with ISO times carrying their offset', async () => {
      const res = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      // The original service's two jobs first; PostgreSQL adds the partition maintenance.
      expect(res.body).toMatchObject({ scheduler_running: true, total_jobs: BUILTIN_JOBS.length, timezone: 'UTC' });
      expect(res.body.jobs.map((j: { id: string }) => j.id)).toEqual(BUILTIN_JOBS);
      expect(res.body.jobs[0]).toMatchObject({
        id: 'daily_data_cleanup',
        name: 'Daily Data Cleanup',
        next_run_time: '2026-11-29T00:00:00+00:00',
        trigger: "cron[hour='0', minute='0']",
        paused: false,
        timezone: 'UTC',
        last_run: null,
      });
      expect(res.body.jobs[1]).toMatchObject({
        id: 'cleanup_notifications',
        name: 'Cleanup Warning Notifications',
        next_run_time: '2026-11-29T23:00:00+00:00',
        trigger: "cron[hour='23', minute='0']",
      });
      for (const job of res.body.jobs) expect(Object.keys(job)).toEqual(expect.arrayContaining(['id', 'name', 'next_run_time', 'trigger']));
    });

    it('runs the cleanup at midnight, as of midnight, once', async () => {
      const midnight = Date.parse('2026-11-29T00:00:00.000Z');
      const fam = await newFamily(t);
      await addMessages(t, fam.conversationId, [iso(midnight - 30 * DAY), iso(midnight - 30 * DAY + 1)]);
      const engine = engineOf(t);
      const before = await metric(t, /^teddy_job_runs_total\{job_id="daily_data_cleanup",status="succeeded"\}/);

      clock.set('2026-11-28T23:59:59.999Z');
      await engine.tick();
      expect(await runsOf(t, 'daily_data_cleanup')).toHaveLength(0);

      clock.set('2026-11-29T00:00:00.000Z');
      await engine.tick();
      await engine.tick();
      await engine.idle();
      const runs = await runsOf(t, 'daily_data_cleanup');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({
        trigger: 'scheduled',
        triggeredBy: 'scheduler',
        status: 'succeeded',
        attempt: 1,
        owner: engine.instanceId,
      });
      expect(runs[0].scheduledFor.toISOString()).toBe('2026-11-29T00:00:00.000Z');
      expect(runs[0].summary).toMatchObject({ cutoff: iso(midnight - 30 * DAY), messagesDeleted: 1 });
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM message');
      expect(Number(n)).toBe(1);

      const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      expect(status.body.jobs[0].next_run_time).toBe('2026-11-30T00:00:00+00:00');
      expect(status.body.jobs[0].last_run).toMatchObject({
        id: runs[0].id,
        status: 'succeeded',
        finished_at: runs[0].finishedAt!.toISOString(),
      });
      expect(await metric(t, /^teddy_job_runs_total\{job_id="daily_data_cleanup",status="succeeded"\}/)).toBe(before + 1);
      expect(await metric(t, /^teddy_job_next_run_timestamp_seconds\{job_id="daily_data_cleanup"\}/)).toBe(
        Date.parse('2026-11-30T00:00:00Z') / 1000,
      );
      expect(await metric(t, /^teddy_job_last_success_timestamp_seconds\{job_id="daily_data_cleanup"\}/)).toBe(
        runs[0].finishedAt!.getTime() / 1000,
      );
    });
  });

  describe('DST in Europe/Berlin', () => {
    const clock = new FixedClock(new Date('2026-03-28T12:00:00.000Z'));
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ clock, env: { SCHEDULER_TIMEZONE: 'Europe/Berlin', CLEANUP_CRON: '30 2 * * *' } });
    });
    afterAll(() => t.close());

    const next = async () => (await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200)).body.jobs[0].next_run_time;

    it('fires a time the spring-forward gap skips once, right after the gap (03:30 CEST)', async () => {
      // Independently: no instant of 29 March 2026 reads 02:30 in Berlin, and 01:30Z reads 03:30.
      const day = Date.parse('2026-03-28T22:00:00Z');
      const wall = Array.from({ length: 24 * 60 }, (_, i) => berlinWallClock(day + i * 60_000));
      expect(wall).not.toContain('2026-03-29T02:30');
      expect(berlinWallClock(Date.parse('2026-03-29T01:30:00Z'))).toBe('2026-03-29T03:30');

      expect(await next()).toBe('2026-03-29T03:30:00+02:00');
      const engine = engineOf(t);
      clock.set('2026-03-29T01:29:59.999Z');
      await engine.tick();
      clock.set('2026-03-29T01:30:00.000Z');
      await engine.tick();
      await engine.idle();
      const runs = await runsOf(t, 'daily_data_cleanup');
      expect(runs.map((r) => r.scheduledFor.toISOString())).toEqual(['2026-03-29T01:30:00.000Z']);
      expect(await next()).toBe('2026-03-30T02:30:00+02:00');
    });

    it('fires a time the fall-back repeats only once, at its first occurrence', async () => {
      // Independently: 00:30Z and 01:30Z on 25 October 2026 both read 02:30 in Berlin.
      expect(berlinWallClock(Date.parse('2026-10-25T00:30:00Z'))).toBe('2026-10-25T02:30');
      expect(berlinWallClock(Date.parse('2026-10-25T01:30:00Z'))).toBe('2026-10-25T02:30');

      const engine = engineOf(t);
      // Seven months on, with the job changed meanwhile (so the months between are not caught up).
      clock.set('2026-10-24T12:00:00.000Z');
      await t.http.patch('/admin/scheduler/jobs/daily_data_cleanup').set(t.as('operator')).send({ maxInstances: 2 }).expect(200);
      expect(await next()).toBe('2026-10-25T02:30:00+02:00');
      clock.set('2026-10-25T00:30:00.000Z');
      await engine.tick();
      await engine.idle();
      expect(await next()).toBe('2026-10-26T02:30:00+01:00');
      clock.set('2026-10-25T01:30:00.000Z');
      await engine.tick();
      clock.set('2026-10-25T23:59:00.000Z');
      await engine.tick();
      await engine.idle();
      const runs = await runsOf(t, 'daily_data_cleanup');
      expect(runs.map((r) => r.scheduledFor.toISOString())).toEqual(['2026-03-29T01:30:00.000Z', '2026-10-25T00:30:00.000Z']);
      expect(await next()).toBe('2026-10-26T02:30:00+01:00');
    });

    it('shows the notice job in the zone too, with the winter offset (its 25 October fire ran above)', async () => {
      const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      expect(status.body.jobs[1]).toMatchObject({
        id: 'cleanup_notifications',
        timezone: 'Europe/Berlin',
        next_run_time: '2026-10-26T23:00:00+01:00',
      });
    });
  });

  describe('downtime', () => {
    const clock = new FixedClock(new Date('2026-11-28T22:00:00.000Z'));
    let database: ScratchDatabase;
    beforeAll(async () => {
      database = await scratchDatabase();
    });
    afterAll(() => database?.drop());

    it('catches up each missed fire once at start, as of its scheduled time', async () => {
      const first = await startApp({ clock, database });
      await first.close();
      clock.set('2026-11-29T05:00:00.000Z');
      const t = await startApp({ clock, database });
      try {
        await engineOf(t).tick();
        await engineOf(t).tick();
        await engineOf(t).idle();
        const cleanups = await runsOf(t, 'daily_data_cleanup');
        expect(cleanups.map((r) => [r.scheduledFor.toISOString(), r.trigger, r.status])).toEqual([
          ['2026-11-29T00:00:00.000Z', 'catch-up', 'succeeded'],
        ]);
        expect(cleanups[0].summary).toMatchObject({ cutoff: '2026-10-30T00:00:00.000Z' });
        const notices = await runsOf(t, 'cleanup_notifications');
        expect(notices.map((r) => [r.scheduledFor.toISOString(), r.trigger, r.status])).toEqual([
          ['2026-11-28T23:00:00.000Z', 'catch-up', 'succeeded'],
        ]);
      } finally {
        await t.close();
      }
    });

    it('coalesces several missed fires into one run of the latest, and starts from the ledger', async () => {
      clock.set('2026-12-02T06:00:00.000Z');
      const t = await startApp({ clock, database });
      try {
        await engineOf(t).tick();
        await engineOf(t).idle();
        const cleanups = await runsOf(t, 'daily_data_cleanup');
        expect(cleanups.map((r) => r.scheduledFor.toISOString())).toEqual(['2026-11-29T00:00:00.000Z', '2026-12-02T00:00:00.000Z']);
        expect(cleanups[1]).toMatchObject({ trigger: 'catch-up', status: 'succeeded' });
        expect(cleanups[1].summary).toMatchObject({ coalescedFires: 2 });
      } finally {
        await t.close();
      }
    });

    it('records fires later than a set misfire grace as skipped, and counts them missed', async () => {
      clock.set('2026-12-02T12:00:00.000Z');
      let t = await startApp({ clock, database });
      await t.http.patch('/admin/scheduler/jobs/daily_data_cleanup').set(t.as('operator')).send({ misfireGraceSeconds: 3600 }).expect(200);
      await t.close();
      clock.set('2026-12-04T02:00:00.000Z');
      t = await startApp({ clock, database });
      try {
        const before = await metric(t, /^teddy_scheduler_missed_total\{job_id="daily_data_cleanup"\}/);
        await engineOf(t).tick();
        await engineOf(t).idle();
        const latest = (await runsOf(t, 'daily_data_cleanup')).slice(2);
        expect(latest.map((r) => [r.scheduledFor.toISOString(), r.status])).toEqual([['2026-12-04T00:00:00.000Z', 'skipped']]);
        expect(latest[0].summary).toMatchObject({
          reason: 'missed',
          missedFires: 2,
          firstMissed: '2026-12-03T00:00:00.000Z',
          misfireGraceSeconds: 3600,
        });
        expect(await metric(t, /^teddy_scheduler_missed_total\{job_id="daily_data_cleanup"\}/)).toBe(before + 2);
      } finally {
        await t.close();
      }
    });
  });

  describe('overlap and steering', () => {
    const clock = new FixedClock(new Date('2026-11-28T12:00:00.000Z'));
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ clock });
    });
    afterAll(() => t.close());

    it('skips a fire while the job is at max_instances, and a manual trigger gets 409 naming the run', async () => {
      const engine = engineOf(t);
      await t.http
        .post('/admin/scheduler/jobs')
        .set(t.as('operator'))
        .send({ id: 'minutely', name: 'Every minute', task: 'cleanup', cron: '* * * * *' })
        .expect(201);
      const hold = holdCleanups(t);
      try {
        clock.set('2026-11-28T12:01:00.000Z');
        await engine.tick();
        const [running] = await until('the first run', () => engine.runningHere().filter((r) => r.jobId === 'minutely'));
        // A minute on the fake clock: the heartbeat (every SCHEDULER_LEASE_SECONDS / 3 in real life) keeps the lease.
        clock.set('2026-11-28T12:02:00.000Z');
        await engine.heartbeat();
        await engine.tick();
        const skipped = (await runsOf(t, 'minutely')).find((r) => r.status === 'skipped')!;
        expect(skipped.scheduledFor.toISOString()).toBe('2026-11-28T12:02:00.000Z');
        expect(skipped.summary).toMatchObject({ reason: 'max_instances', maxInstances: 1, running: [running.id] });

        const conflict = await t.http.post('/admin/scheduler/jobs/minutely/trigger').set(t.as('operator')).send({}).expect(409);
        expect(conflict.body.message).toContain(running.id);
        expect(conflict.body.message).toContain('max_instances');

        await t.http.patch('/admin/scheduler/jobs/minutely').set(t.as('operator')).send({ maxInstances: 2 }).expect(200);
        clock.set('2026-11-28T12:03:00.000Z');
        await engine.heartbeat();
        await engine.tick();
        expect(engine.runningHere().filter((r) => r.jobId === 'minutely')).toHaveLength(2);
      } finally {
        hold.open();
        await engine.idle();
        hold.restore();
      }
      const runs = await runsOf(t, 'minutely');
      // The refused manual trigger is in the ledger too, as skipped.
      expect(runs.map((r) => [r.scheduledFor.toISOString().slice(11, 16), r.trigger, r.status]).sort()).toEqual([
        ['12:01', 'scheduled', 'succeeded'],
        ['12:02', 'manual', 'skipped'],
        ['12:02', 'scheduled', 'skipped'],
        ['12:03', 'scheduled', 'succeeded'],
      ]);
      await t.http.patch('/admin/scheduler/jobs/minutely').set(t.as('operator')).send({ paused: true }).expect(200);
    });

    it('answers the legacy cleanup trigger with 409 naming the run while a cleanup is running', async () => {
      const hold = holdCleanups(t);
      let first: Promise<{ status: number; body: { run: { id: string }; status: string } }> | undefined;
      try {
        first = t.http
          .post('/admin/scheduler/cleanup/trigger')
          .set(t.as('operator'))
          .send({})
          .then((r) => r);
        const [running] = await until('the manual run', () =>
          engineOf(t)
            .runningHere()
            .filter((r) => r.jobId === 'daily_data_cleanup'),
        );
        const second = await t.http.post('/admin/scheduler/cleanup/trigger').set(t.as('operator')).send({}).expect(409);
        expect(second.body.message).toContain(running.id);
      } finally {
        hold.open();
        await first;
        hold.restore();
      }
      const done = await first!;
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({
        status: 'succeeded',
        trigger: 'manual',
        triggeredBy: 'operator',
        run: { status: 'succeeded', trigger: 'manual', triggeredBy: 'operator' },
      });
    });

    it('changes a job, stores and audits the change, and shows it in the status', async () => {
      const res = await t.http
        .patch('/admin/scheduler/jobs/daily_data_cleanup')
        .set(t.as('operator'))
        .set('X-Request-Id', 'steer-1')
        .send({ cron: '0 2 * * *', timezone: 'America/New_York' })
        .expect(200);
      expect(res.body).toMatchObject({
        cron: '0 2 * * *',
        timezone: 'America/New_York',
        trigger: "cron[hour='2', minute='0']",
        nextRunTime: '2026-11-29T02:00:00-05:00',
      });
      const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      expect(status.body.jobs[0]).toMatchObject({ next_run_time: '2026-11-29T02:00:00-05:00', timezone: 'America/New_York' });
      const audit = await t.http.get('/admin/audit?target=daily_data_cleanup').set(t.as('viewer')).expect(200);
      expect(audit.body.items[0]).toMatchObject({
        actor: 'operator',
        action: 'job.update',
        requestId: 'steer-1',
        before: { cron: '0 0 * * *', timezone: 'UTC' },
        after: { cron: '0 2 * * *', timezone: 'America/New_York' },
      });
      // The preview follows the job's new schedule.
      const preview = await t.http.get('/admin/data/preview').set(t.as('viewer')).expect(200);
      expect(preview.body.at).toBe('2026-11-29T07:00:00.000Z');
    });

    it('refuses bad changes with a 400 naming the field, and writes nothing', async () => {
      const before = (await t.http.get('/admin/audit').set(t.as('viewer')).expect(200)).body.items.length;
      const cases: [string, object, string][] = [
        ['daily_data_cleanup', { cron: '61 * * * *' }, 'cron'],
        ['daily_data_cleanup', { cron: '* * *' }, 'cron'],
        ['daily_data_cleanup', { timezone: 'Mars/Olympus' }, 'timezone'],
        ['daily_data_cleanup', { maxInstances: 0 }, 'maxInstances'],
        ['daily_data_cleanup', { paused: 'yes' }, 'paused'],
        ['daily_data_cleanup', { misfireGraceSeconds: -5 }, 'misfireGraceSeconds'],
        ['daily_data_cleanup', { task: 'notices' }, 'task'],
        ['daily_data_cleanup', {}, 'body'],
        ['cleanup_notifications', { cron: '0 23 * * 0' }, 'cron'],
        ['daily_data_cleanup', { cron: '0 0 30 2 *' }, 'cron'],
        // null is not "left out": these columns cannot be null (found by the input drill as a 500).
        ['daily_data_cleanup', { paused: null }, 'paused'],
        ['daily_data_cleanup', { maxInstances: null }, 'maxInstances'],
        ['daily_data_cleanup', { coalesce: null }, 'coalesce'],
        ['daily_data_cleanup', { cron: null }, 'cron'],
        ['daily_data_cleanup', { timezone: null }, 'timezone'],
        ['daily_data_cleanup', { name: null }, 'name'],
      ];
      for (const [id, body, field] of cases) {
        const res = await t.http.patch(`/admin/scheduler/jobs/${id}`).set(t.as('operator')).send(body);
        expect([res.status, body]).toEqual([400, body]);
        expect(res.body.message).toContain(field);
      }
      await t.http.patch('/admin/scheduler/jobs/nope').set(t.as('operator')).send({ paused: true }).expect(404);
      await t.http.patch('/admin/scheduler/jobs/Bad%20Id').set(t.as('operator')).send({ paused: true }).expect(400);
      expect((await t.http.get('/admin/audit').set(t.as('viewer')).expect(200)).body.items.length).toBe(before);
    });

    it('adds a job running a registered task, lists the tasks, and deletes only added jobs', async () => {
      const tasks = await t.http.get('/admin/scheduler/tasks').set(t.as('viewer')).expect(200);
      expect(tasks.body.map((x: { name: string }) => x.name)).toEqual([
        'cleanup',
        'notices',
        ...(TEST_DB === 'postgres' ? ['partitions'] : []),
      ]);
      const created = await t.http
        .post('/admin/scheduler/jobs')
        .set(t.as('operator'))
        .send({ id: 'notices_twice_daily', name: 'Notices at 09:00 and 18:00', task: 'notices', cron: '0 9,18 * * *' })
        .expect(201);
      expect(created.body).toMatchObject({
        builtin: false,
        trigger: "cron[hour='9,18', minute='0']",
        nextRunTime: '2026-11-28T18:00:00+00:00',
      });
      await t.http
        .post('/admin/scheduler/jobs')
        .set(t.as('operator'))
        .send({ id: 'notices_twice_daily', name: 'x', task: 'notices', cron: '0 9 * * *' })
        .expect(409);
      const badTask = await t.http
        .post('/admin/scheduler/jobs')
        .set(t.as('operator'))
        .send({ id: 'x1', name: 'x', task: 'backup', cron: '0 9 * * *' })
        .expect(400);
      expect(badTask.body.message).toContain('task');
      const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      expect(status.body.total_jobs).toBe(BUILTIN_JOBS.length + 2);

      await t.http.post('/admin/scheduler/jobs/notices_twice_daily/trigger').set(t.as('operator')).send({}).expect(200);
      clock.advance(1000);
      await t.http.delete('/admin/scheduler/jobs/daily_data_cleanup').set(t.as('operator')).expect(409);
      await t.http.delete('/admin/scheduler/jobs/notices_twice_daily').set(t.as('operator')).expect(200);
      await t.http.get('/admin/scheduler/jobs/notices_twice_daily').set(t.as('viewer')).expect(404);
      // Its history stays readable.
      const runs = await t.http.get('/admin/scheduler/jobs/notices_twice_daily/runs').set(t.as('viewer')).expect(200);
      expect(runs.body.items).toHaveLength(1);
      await t.http.get('/admin/scheduler/jobs/never_existed/runs').set(t.as('viewer')).expect(404);
      const audit = await t.http.get('/admin/audit?target=notices_twice_daily').set(t.as('viewer')).expect(200);
      expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(['job.delete', 'job.create']);
    });

    it('pages the run history newest first', async () => {
      for (let i = 0; i < 5; i++) {
        clock.advance(1000);
        await t.http.post('/admin/scheduler/jobs/cleanup_notifications/trigger').set(t.as('operator')).send({}).expect(200);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { body: { items: { id: string; jobId: string; startedAt: string; trigger: string }[]; nextCursor: string | null } } =
          await t.http
            .get(`/admin/scheduler/jobs/cleanup_notifications/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
            .set(t.as('viewer'))
            .expect(200);
        for (const item of res.body.items) {
          expect(item).toMatchObject({ jobId: 'cleanup_notifications', trigger: 'manual' });
          expect(Object.keys(item)).toEqual(
            expect.arrayContaining(['id', 'jobId', 'scheduledFor', 'trigger', 'status', 'startedAt', 'finishedAt', 'summary']),
          );
          seen.push(item.startedAt);
        }
        cursor = res.body.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(5);
      expect([...seen].sort().reverse()).toEqual(seen);
      await t.http.get('/admin/scheduler/jobs/cleanup_notifications/runs?status=nope').set(t.as('viewer')).expect(400);
    });

    it('does not fire a paused job, and does not catch up what the pause skipped', async () => {
      const engine = engineOf(t);
      await t.http.patch('/admin/scheduler/jobs/cleanup_notifications').set(t.as('operator')).send({ paused: true }).expect(200);
      const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      expect(status.body.jobs[1]).toMatchObject({ paused: true, next_run_time: null });
      const count = (await runsOf(t, 'cleanup_notifications')).length;
      clock.set('2026-11-28T23:00:00.000Z');
      await engine.tick();
      clock.set('2026-11-29T01:00:00.000Z');
      await t.http.patch('/admin/scheduler/jobs/cleanup_notifications').set(t.as('operator')).send({ paused: false }).expect(200);
      await engine.tick();
      await engine.idle();
      expect(await runsOf(t, 'cleanup_notifications')).toHaveLength(count);
    });
  });

  describe('abandoned runs', () => {
    const clock = new FixedClock(new Date('2026-11-28T12:00:00.000Z'));
    let t: TestApp;
    beforeAll(async () => {
      t = await startApp({ clock });
    });
    afterAll(() => t.close());

    it('marks a run whose lease ran out abandoned and runs its fire again', async () => {
      const engine = engineOf(t);
      const id = randomUUID();
      const fire = '2026-11-28T00:00:00.000Z';
      // A run left by a replica that died: its lease ended a minute ago (by the database's clock).
      const past = TEST_DB === 'postgres' ? "now() - interval '1 minute'" : `'2026-11-28 11:59:00.000'`;
      const ts = (v: string) => (TEST_DB === 'postgres' ? `'${v}'` : `'${v.replace('T', ' ').replace('Z', '')}'`);
      await t.dataSource.query(
        `INSERT INTO job_run (id, job_id, task, scheduled_for, fire_key, attempt, "trigger", triggered_by, status, owner, started_at, heartbeat_at, lease_until)
         VALUES ('${id}', 'daily_data_cleanup', 'cleanup', ${ts(fire)}, '${fire}', 1, 'scheduled', 'scheduler', 'running', 'dead-host:1:abc', ${ts('2026-11-28T00:00:00.000Z')}, ${past}, ${past})`,
      );
      const before = await metric(t, /^teddy_job_runs_total\{job_id="daily_data_cleanup",status="abandoned"\}/);
      await engine.reap();
      await engine.idle();
      const runs = await runsOf(t, 'daily_data_cleanup');
      expect(runs.map((r) => [r.attempt, r.status, r.owner])).toEqual([
        [1, 'abandoned', 'dead-host:1:abc'],
        [2, 'succeeded', engine.instanceId],
      ]);
      expect(runs[1].scheduledFor.toISOString()).toBe(fire);
      expect(runs[1].summary).toMatchObject({ rerunOf: id, cutoff: '2026-10-29T00:00:00.000Z' });
      expect(await metric(t, /^teddy_job_runs_total\{job_id="daily_data_cleanup",status="abandoned"\}/)).toBe(before + 1);
      // Nothing left to do: a second pass runs nothing more.
      await engine.reap();
      await engine.idle();
      expect(await runsOf(t, 'daily_data_cleanup')).toHaveLength(2);
    });

    it('on shutdown gives up what it could not finish in SHUTDOWN_TIMEOUT_MS, so no run stays running', async () => {
      const database = await scratchDatabase();
      const app = await startApp({ clock, database, env: { SHUTDOWN_TIMEOUT_MS: '100' } });
      const hold = holdCleanups(app);
      try {
        const pending = engineOf(app).runNow('daily_data_cleanup', { trigger: 'manual', triggeredBy: 'test' });
        const [running] = await until('the run', () => engineOf(app).runningHere());
        await engineOf(app).drain();
        const [row] = await runsOf(app, 'daily_data_cleanup');
        expect(row).toMatchObject({ id: running.id, status: 'abandoned' });
        expect(row.error).toContain('shut down');
        hold.open();
        const ended = await pending;
        // Given up is final: the run that finished after all does not turn the row into a success.
        expect(ended.run).toMatchObject({ id: running.id, status: 'abandoned' });
        expect((await runsOf(app, 'daily_data_cleanup')).map((r) => r.status)).toEqual(['abandoned']);
      } finally {
        hold.restore();
        await app.close();
        await database.drop();
      }
    });

    describe('fencing: a run that lost its lease writes nothing more', () => {
      const expire = (t: TestApp, runId: string) =>
        t.dataSource.query(`UPDATE job_run SET status = 'abandoned', lease_until = NULL WHERE id = '${runId}'`);
      const remaining = async (t: TestApp) => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM message'))[0].n);

      it('stops deleting at the batch after its row was taken away, and its report says how far it got', async () => {
        const database = await scratchDatabase();
        const a = await startApp({ clock, database, env: { CLEANUP_BATCH_SIZE: '100' } });
        try {
          const fam = await newFamily(a);
          // In the cutoff's own day (2026-10-29, cutoff 12:00): deleted in batches on both databases
          // (on PostgreSQL a day wholly before the cutoff goes as one partition drop; test/partitions.e2e-spec.ts).
          const old = Date.parse('2026-10-29T00:00:00.000Z');
          await addMessages(
            a,
            fam.conversationId,
            Array.from({ length: 600 }, (_, i) => iso(old + i * 1000)),
          );
          // After the first batch, another replica takes the run away (what its reaper does to a frozen replica's run).
          const cleanup = a.app.get(CleanupService);
          const run = cleanup.run.bind(cleanup);
          const spy = jest.spyOn(cleanup, 'run').mockImplementation((options) =>
            run({
              ...options,
              afterBatch: async (batch) => {
                if (batch === 1) await expire(a, engineOf(a).runningHere()[0].id);
              },
            }),
          );
          const ended = await engineOf(a).runNow('daily_data_cleanup', { trigger: 'manual', triggeredBy: 'test' });
          spy.mockRestore();
          expect(ended.run.status).toBe('abandoned');
          // One batch of 100 went before the run was taken away; none after it.
          expect(await remaining(a)).toBe(500);
          const report = ended.result as { status: string; messagesDeleted: number; batches: number; error: string };
          expect(report).toMatchObject({ status: 'abandoned', messagesDeleted: 100, batches: 1 });
          expect(report.error).toMatch(
            /stopped after 1 batches \(the 100 messages and 0 conversations deleted stay deleted\): run .* lost its lease/,
          );
          const [stored] = await a.dataSource.query(
            `SELECT status, messages_deleted FROM cleanup_report WHERE id = '${(ended.result as { id: string }).id}'`,
          );
          expect([stored.status, Number(stored.messages_deleted)]).toEqual(['abandoned', 100]);
        } finally {
          await a.close();
          await database.drop();
        }
      });

      it('enqueues no notice once its row was taken away (the notice job is fenced too)', async () => {
        const database = await scratchDatabase();
        const a = await startApp({ clock, database });
        try {
          const fam = await newFamily(a);
          // Due at the cleanup of 29 November, inside the notice window of 28 November noon.
          await addMessages(a, fam.conversationId, [iso(Date.parse('2026-10-15T00:00:00.000Z'))]);
          const notices = async () => Number((await a.dataSource.query('SELECT COUNT(*) AS n FROM notice'))[0].n);
          const service = a.app.get(NoticeService);
          const enqueue = service.enqueue.bind(service);
          const spy = jest.spyOn(service, 'enqueue').mockImplementation(async (...args) => {
            await expire(a, engineOf(a).runningHere()[0].id);
            return enqueue(...args);
          });
          const lost = await engineOf(a).runNow('cleanup_notifications', { trigger: 'manual', triggeredBy: 'test' });
          spy.mockRestore();
          expect(lost.run.status).toBe('abandoned');
          expect(await notices()).toBe(0);
          // The same run, left alone, owes that guardian one notice: the fence was what held it back.
          const kept = await engineOf(a).runNow('cleanup_notifications', { trigger: 'manual', triggeredBy: 'test' });
          expect(kept.run.status).toBe('succeeded');
          expect(await notices()).toBe(1);
        } finally {
          await a.close();
          await database.drop();
        }
      });

      it('is stopped by its heartbeat before it writes, once the heartbeat finds the run taken away', async () => {
        const database = await scratchDatabase();
        const a = await startApp({ clock, database });
        const hold = holdCleanups(a);
        try {
          const fam = await newFamily(a);
          await addMessages(a, fam.conversationId, [iso(Date.parse('2026-10-01T00:00:00.000Z'))]);
          const pending = engineOf(a).runNow('daily_data_cleanup', { trigger: 'manual', triggeredBy: 'test' });
          const [running] = await until('the run', () => engineOf(a).runningHere());
          await expire(a, running.id);
          await engineOf(a).heartbeat();
          hold.open();
          const ended = await pending;
          expect(ended.run.status).toBe('abandoned');
          expect(await remaining(a)).toBe(1);
          expect(ended.result).toMatchObject({ status: 'abandoned', messagesDeleted: 0, batches: 0 });
          // The heartbeat's reason, not the fence's: the task stopped before its first statement.
          expect((ended.result as { error: string }).error).toMatch(/lost its lease: another replica took it over$/);
        } finally {
          hold.restore();
          await a.close();
          await database.drop();
        }
      });
    });

    it('keeps a run abandoned, and counts it once, when it ends after another replica took its lease', async () => {
      const database = await scratchDatabase();
      const a = await startApp({ clock, database });
      const b = await startApp({ clock, database });
      const hold = holdCleanups(a);
      try {
        const succeeded = /^teddy_job_runs_total\{job_id="daily_data_cleanup",status="succeeded"\}/;
        const abandoned = /^teddy_job_runs_total\{job_id="daily_data_cleanup",status="abandoned"\}/;
        const before = { succeeded: await metric(a, succeeded), abandoned: await metric(a, abandoned) };
        const pending = engineOf(a).runNow('daily_data_cleanup', { trigger: 'manual', triggeredBy: 'test' });
        const [running] = await until('the run on a', () => engineOf(a).runningHere());
        // a is frozen past its lease (by the database's clock, which the reaper reads), and b reaps it.
        const past = TEST_DB === 'postgres' ? "now() - interval '1 minute'" : `'2026-11-28 11:59:00.000'`;
        await a.dataSource.query(`UPDATE job_run SET lease_until = ${past} WHERE id = '${running.id}'`);
        await engineOf(b).reap();
        expect((await runsOf(a, 'daily_data_cleanup')).map((r) => [r.id, r.status])).toEqual([[running.id, 'abandoned']]);
        // a thaws and its task ends well: the ledger still says abandoned, and no success is counted.
        hold.open();
        const ended = await pending;
        expect(ended.run).toMatchObject({ id: running.id, status: 'abandoned' });
        expect((await runsOf(a, 'daily_data_cleanup')).map((r) => r.status)).toEqual(['abandoned']);
        expect(await metric(a, succeeded)).toBe(before.succeeded);
        expect(await metric(a, abandoned)).toBe(before.abandoned + 1);
      } finally {
        hold.restore();
        await a.close();
        await b.close();
        await database.drop();
      }
    });
  });

  describe('two replicas on one database', () => {
    let database: ScratchDatabase;
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      database = await scratchDatabase();
      a = await startApp({ database, timers: true, env: { SCHEDULER_SYNC_SECONDS: '1' } });
      b = await startApp({ database, timers: true, env: { SCHEDULER_SYNC_SECONDS: '1' } });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await database?.drop();
    });

    it('applies a change made on one replica on the other within seconds', async () => {
      await a.http
        .patch('/admin/scheduler/jobs/daily_data_cleanup')
        .set(a.as('operator'))
        .send({ paused: true, cron: '15 3 * * *' })
        .expect(200);
      const started = Date.now();
      await until('replica b to see the change', async () => {
        const res = await b.http.get('/admin/scheduler/status').set(b.as('viewer')).expect(200);
        return res.body.jobs[0].paused === true && res.body.jobs[0].trigger === "cron[hour='3', minute='15']";
      });
      // SCHEDULER_SYNC_SECONDS is 1 here (10 at most): well inside the 10 s the contract allows.
      expect(Date.now() - started).toBeLessThan(10_000);
    });
  });

  describe('a change saved on another replica', () => {
    const clock = new FixedClock(new Date('2026-11-28T23:00:00.000Z'));
    let database: ScratchDatabase;
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      database = await scratchDatabase();
      a = await startApp({ clock, database });
      b = await startApp({ clock, database });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await database?.drop();
    });

    it('binds at the claim, before this replica has re-read the jobs', async () => {
      await a.http.patch('/admin/scheduler/jobs/daily_data_cleanup').set(a.as('operator')).send({ paused: true }).expect(200);
      // b still holds the job as unpaused (its sync has not run), and its timer fires at midnight.
      expect(catalogueOf(b).job('daily_data_cleanup')?.def.paused).toBe(false);
      clock.set('2026-11-29T00:00:00.000Z');
      await engineOf(b).tick();
      await engineOf(b).idle();
      expect(await runsOf(b, 'daily_data_cleanup')).toHaveLength(0);
      // ...and the refused claim made b re-read the jobs.
      await until('b to see the pause', () => catalogueOf(b).job('daily_data_cleanup')?.def.paused);
    });
  });

  describe('command line', () => {
    let database: ScratchDatabase;
    // The working directory of every run: LOG_FILE keeps its default (logs/teddy_system.log, relative to it), and its
    // .env is read, the process environment winning (DATABASE_URL below beats the file's).
    let cwd: string;
    const logFile = () => readFileSync(join(cwd, 'logs/teddy_system.log'), 'utf8');
    beforeAll(async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
      database = await scratchDatabase();
      cwd = mkdtempSync(join(tmpdir(), 'teddy-cli-'));
      writeFileSync(join(cwd, '.env'), 'RETENTION_DAYS=14\nDATABASE_URL=sqlite:./not-this-one.sqlite\n');
    });
    afterAll(() => database?.drop());

    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [CLI, ...args], {
          cwd,
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (code) => done({ code, stdout, stderr }));
      });

    it('runs one job once, records it in the ledger, and exits 0', async () => {
      const res = await run(['daily_data_cleanup', '--dry-run']);
      expect(res.code).toBe(0);
      const { run: ledger } = JSON.parse(res.stdout);
      expect(ledger).toMatchObject({
        jobId: 'daily_data_cleanup',
        trigger: 'cli',
        triggeredBy: 'cli',
        status: 'succeeded',
        summary: { dryRun: true },
      });
      expect(res.stderr).not.toContain('generated an operator key');
      const t = await startApp({ database });
      try {
        const runs = await t.http.get('/admin/scheduler/jobs/daily_data_cleanup/runs').set(t.as('viewer')).expect(200);
        expect(runs.body.items.map((r: { id: string }) => r.id)).toEqual([ledger.id]);
      } finally {
        await t.close();
      }
    });

    it('with the default LOG_FILE, prints its answer alone on stdout and its start-up lines only to the log file', async () => {
      const res = await run(['daily_data_cleanup', '--dry-run']);
      expect(res.code).toBe(0);
      const answer = JSON.parse(res.stdout);
      expect(res.stdout).toBe(`${JSON.stringify(answer, null, 2)}\n`);
      // Only warnings and errors reach stderr; this run has none.
      expect(res.stderr).toBe('');
      const lines = logFile()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; runId?: string });
      expect(lines.some((l) => /dependencies initialized$/.test(l.msg))).toBe(true);
      expect(lines.filter((l) => l.runId === answer.run.id).map((l) => l.msg)).toContainEqual(
        expect.stringMatching(/^job daily_data_cleanup succeeded in \d+ ms$/),
      );
      // RETENTION_DAYS came from the working directory's .env.
      expect(Date.parse(answer.run.scheduledFor) - Date.parse(answer.run.summary.cutoff)).toBe(14 * DAY);
    });

    it('exits non-zero with a clear message for an unknown job, a missing argument, or a dry run the task lacks', async () => {
      const unknown = await run(['no_such_job']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('job "no_such_job" does not exist');
      expect(unknown.stdout).toBe('');
      const usage = await run([]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('usage: npm run job -- <job-id> [--dry-run]');
      const dry = await run(['cleanup_notifications', '--dry-run']);
      expect(dry.code).toBe(2);
      expect(dry.stderr).toContain('dryRun');
    });

    it('exits 3 while the job is already running, naming the run', async () => {
      const t = await startApp({ database });
      const hold = holdCleanups(t);
      let pending: Promise<unknown> | undefined;
      try {
        pending = engineOf(t).runNow('daily_data_cleanup', { trigger: 'manual', triggeredBy: 'test' });
        const [running] = await until('the manual run', () =>
          engineOf(t)
            .runningHere()
            .filter((r) => r.jobId === 'daily_data_cleanup'),
        );
        const res = await run(['daily_data_cleanup']);
        expect(res.code).toBe(3);
        expect(res.stderr).toContain(running.id);
        expect(res.stdout).toBe('');
      } finally {
        hold.open();
        await pending;
        hold.restore();
        await t.close();
      }
    });
  });
});

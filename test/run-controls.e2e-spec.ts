/**
 * The controls operators reach for when a run goes wrong, with a fake clock on either database:
 * one run (with its progress), cancel, run timeout, overlap policies, backfill, pause with a note,
 * pause after failures, and asynchronous triggers.
 */
import { CleanupService, RunOptions } from '../src/cleanup/cleanup.service';
import { FixedClock } from '../src/common/clock';
import { JobRun } from '../src/scheduler/job-run.entity';
import { SchedulerService } from '../src/scheduler/scheduler.service';
import { startApp, TestApp } from './support/app';
import { metric, until } from './support/probes';
import { scratchDatabase, TEST_DB } from './support/databases';
import { addMessages, iso, newFamily } from './support/factories';

const engineOf = (t: TestApp) => t.app.get(SchedulerService);

async function runsOf(t: TestApp, jobId: string): Promise<JobRun[]> {
  return t.dataSource.getRepository(JobRun).find({ where: { jobId }, order: { scheduledFor: 'ASC', attempt: 'ASC' } });
}

/**
 * Holds each cleanup at its start until released, one at a time; `onBatch` runs after each batch.
 * Records the scheduled time of every cleanup in the order they start.
 */
function steerCleanups(t: TestApp, onBatch?: (batch: number) => Promise<void>) {
  const service = t.app.get(CleanupService);
  const original = service.run.bind(service);
  const started: string[] = [];
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const hold = () => {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    gate = { promise, open };
  };
  const spy = jest.spyOn(service, 'run').mockImplementation(async (options: RunOptions) => {
    started.push(options.at!.toISOString());
    if (gate) await gate.promise;
    return original({ ...options, afterBatch: async (batch) => onBatch?.(batch) });
  });
  return {
    started,
    hold,
    release: () => {
      const g = gate;
      gate = undefined;
      g?.open();
    },
    restore: () => spy.mockRestore(),
  };
}

describe(`run controls with a fake clock (${TEST_DB})`, () => {
  const clock = new FixedClock(new Date('2026-11-28T12:00:30.000Z'));
  let t: TestApp;

  const createJob = (body: Record<string, unknown>) =>
    t.http
      .post('/admin/scheduler/jobs')
      .set(t.as('operator'))
      .send({ name: body.id, task: 'cleanup', cron: '* * * * *', ...body })
      .expect(201);
  // The fake clock jumps past the lease (30 s): a heartbeat first, as a live replica's would have renewed it.
  const fireAt = async (at: string) => {
    clock.set(at);
    await engineOf(t).heartbeat();
    await engineOf(t).tick();
  };
  const statuses = async (jobId: string) =>
    (await runsOf(t, jobId)).map((r) => `${r.scheduledFor.toISOString().slice(11, 16)} ${r.status}`);

  beforeEach(async () => {
    clock.set('2026-11-28T12:00:30.000Z');
    t = await startApp({ clock, env: { CLEANUP_BATCH_SIZE: '100' } });
  });
  afterEach(async () => {
    await engineOf(t).idle();
    await t.close();
  });

  describe('overlap policies', () => {
    it('skip (the default): a fire while the job runs is recorded skipped', async () => {
      const steer = steerCleanups(t);
      await createJob({ id: 'minutely' });
      steer.hold();
      await fireAt('2026-11-28T12:01:00.000Z');
      await fireAt('2026-11-28T12:02:00.000Z');
      steer.release();
      await engineOf(t).idle();
      expect(await statuses('minutely')).toEqual(['12:01 succeeded', '12:02 skipped']);
      steer.restore();
    });

    it('buffer_one: one fire waits for the running one, a later fire replaces it, and it runs when the first ends', async () => {
      const steer = steerCleanups(t);
      await createJob({ id: 'minutely', overlap: 'buffer_one' });
      steer.hold();
      await fireAt('2026-11-28T12:01:00.000Z');
      await fireAt('2026-11-28T12:02:00.000Z');
      expect(await statuses('minutely')).toEqual(['12:01 running', '12:02 queued']);
      await fireAt('2026-11-28T12:03:00.000Z');
      expect(await statuses('minutely')).toEqual(['12:01 running', '12:02 skipped', '12:03 queued']);
      const runs = await runsOf(t, 'minutely');
      expect(runs[1].summary).toMatchObject({ reason: 'coalesced', into: runs[2].id });
      expect(runs[2].summary).toMatchObject({ coalescedFires: 1 });
      steer.release();
      await until(
        'the buffered fire to run',
        async () => (await statuses('minutely')).join() === '12:01 succeeded,12:02 skipped,12:03 succeeded',
      );
      expect(steer.started).toEqual(['2026-11-28T12:01:00.000Z', '2026-11-28T12:03:00.000Z']);
      steer.restore();
    });

    it('cancel_other: a new fire cancels the running run and starts; the cancelled one writes nothing more', async () => {
      const steer = steerCleanups(t);
      await createJob({ id: 'minutely', overlap: 'cancel_other' });
      const before = await metric(t, /^teddy_job_runs_total\{job_id="minutely",status="cancelled"\}/);
      steer.hold();
      await fireAt('2026-11-28T12:01:00.000Z');
      await fireAt('2026-11-28T12:02:00.000Z');
      expect(await statuses('minutely')).toEqual(['12:01 cancelled', '12:02 running']);
      const [first] = await runsOf(t, 'minutely');
      expect(first.error).toBe('cancelled by the fire of 2026-11-28T12:02:00.000Z (overlap cancel_other)');
      steer.release();
      steer.release();
      await until('both to end', async () => (await statuses('minutely')).join() === '12:01 cancelled,12:02 succeeded');
      await engineOf(t).idle();
      expect(await metric(t, /^teddy_job_runs_total\{job_id="minutely",status="cancelled"\}/)).toBe(before + 1);
      // The cancelled run's cleanup stopped at its fence: its report says so.
      const reports: { status: string; scheduled_for: unknown }[] = await t.dataSource.query(
        'SELECT status, scheduled_for FROM cleanup_report ORDER BY started_at',
      );
      expect(reports.map((r) => r.status).sort()).toEqual(['cancelled', 'succeeded']);
      steer.restore();
    });

    it('allow: runs alongside up to maxInstances, and beyond that skips', async () => {
      const steer = steerCleanups(t);
      await createJob({ id: 'minutely', overlap: 'allow', maxInstances: 2 });
      steer.hold();
      await fireAt('2026-11-28T12:01:00.000Z');
      await fireAt('2026-11-28T12:02:00.000Z');
      await fireAt('2026-11-28T12:03:00.000Z');
      expect(await statuses('minutely')).toEqual(['12:01 running', '12:02 running', '12:03 skipped']);
      expect(await metric(t, /^teddy_job_running\{job_id="minutely"\}/)).toBe(2);
      steer.release();
      await engineOf(t).idle();
      expect(await statuses('minutely')).toEqual(['12:01 succeeded', '12:02 succeeded', '12:03 skipped']);
      expect(await metric(t, /^teddy_job_running\{job_id="minutely"\}/)).toBe(0);
      steer.restore();
    });

    it('refuses maxInstances above 1 under a policy that runs one at a time, naming the field', async () => {
      const res = await t.http
        .post('/admin/scheduler/jobs')
        .set(t.as('operator'))
        .send({ id: 'two', name: 'two', task: 'cleanup', cron: '* * * * *', overlap: 'buffer_one', maxInstances: 2 })
        .expect(400);
      expect(res.body.message).toContain('maxInstances: 2 needs "overlap": "allow"');
      const bad = await t.http
        .patch('/admin/scheduler/jobs/daily_data_cleanup')
        .set(t.as('operator'))
        .send({ overlap: 'sometimes' })
        .expect(400);
      expect(JSON.stringify(bad.body.message)).toContain('overlap must be one of skip, buffer_one, cancel_other, allow');
      // The old option alone keeps its old meaning: that many at once.
      const compat = await t.http
        .patch('/admin/scheduler/jobs/daily_data_cleanup')
        .set(t.as('operator'))
        .send({ maxInstances: 3 })
        .expect(200);
      expect(compat.body).toMatchObject({ maxInstances: 3, overlap: 'allow' });
    });
  });

  describe('one run, cancel and progress', () => {
    const remaining = async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM message'))[0].n);

    it('shows progress while the run runs, then cancels it from the API mid-run: what it deleted stays deleted, and it deletes nothing more', async () => {
      const fam = await newFamily(t);
      // In the cutoff's own day (cutoff 2026-10-29T12:00:30Z), deleted in batches on both databases;
      // on PostgreSQL a day wholly before the cutoff would go as one partition drop.
      const old = Date.parse('2026-10-29T00:00:00.000Z');
      await addMessages(
        t,
        fam.conversationId,
        Array.from({ length: 350 }, (_, i) => iso(old + i * 1000)),
      );
      let runId = '';
      const seen: { progress?: unknown; cancel?: { status: number; body: Record<string, unknown> } } = {};
      const steer = steerCleanups(t, async (batch) => {
        if (batch !== 1) return;
        // The answer of the trigger may not have arrived yet: the run is the one in flight here.
        runId = engineOf(t).runningHere()[0].id;
        await engineOf(t).watch();
        seen.progress = (await t.http.get(`/admin/scheduler/runs/${runId}`).set(t.as('viewer')).expect(200)).body.progress;
        const cancel = await t.http.post(`/admin/scheduler/runs/${runId}/cancel`).set(t.as('operator'));
        seen.cancel = { status: cancel.status, body: cancel.body };
      });
      const accepted = await t.http.post('/admin/scheduler/cleanup/trigger?wait=false').set(t.as('operator')).send({}).expect(202);
      expect(accepted.headers.location).toBe(`/admin/scheduler/runs/${accepted.body.run.id}`);
      expect(accepted.body.run).toMatchObject({ status: 'running', jobId: 'daily_data_cleanup', trigger: 'manual' });
      await engineOf(t).idle();
      expect(runId).toBe(accepted.body.run.id);

      expect(seen.progress).toEqual({ done: 100, total: 350, unit: 'messages' });
      expect(seen.cancel).toMatchObject({
        status: 202,
        body: { id: runId, status: 'cancelled', error: expect.stringMatching(/^cancelled by operator/) },
      });
      expect(await remaining()).toBe(250);
      const run = (await t.http.get(`/admin/scheduler/runs/${runId}`).set(t.as('viewer')).expect(200)).body;
      // The run's own summary came after the cancel: how far it got.
      expect(run).toMatchObject({
        status: 'cancelled',
        summary: { messagesDeleted: 100, batches: 1 },
        progress: { done: 100, total: 350 },
      });
      const [report] = await t.dataSource.query(`SELECT status, messages_deleted, error FROM cleanup_report`);
      expect(report).toMatchObject({ status: 'cancelled', messages_deleted: 100 });
      expect(report.error).toContain('the 100 messages and 0 conversations deleted stay deleted');
      const [audit] = await t.dataSource.query(`SELECT action, target, actor FROM audit_entry WHERE action = 'run.cancel'`);
      expect(audit).toMatchObject({ action: 'run.cancel', target: 'daily_data_cleanup', actor: 'operator' });

      const again = await t.http.post(`/admin/scheduler/runs/${runId}/cancel`).set(t.as('operator')).expect(409);
      expect(again.body.message).toContain('has already ended (cancelled)');
      steer.restore();
    });

    it('answers 400 for a run id that is not a UUID, 404 for an unknown one, and 403 to a viewer who cancels', async () => {
      const bad = await t.http.get('/admin/scheduler/runs/nope').set(t.as('viewer')).expect(400);
      expect(bad.body.message).toContain('runId must be a UUID');
      await t.http.get('/admin/scheduler/runs/00000000-0000-4000-8000-000000000000').set(t.as('viewer')).expect(404);
      await t.http.post('/admin/scheduler/runs/00000000-0000-4000-8000-000000000000/cancel').set(t.as('operator')).expect(404);
      await t.http.post('/admin/scheduler/runs/00000000-0000-4000-8000-000000000000/cancel').set(t.as('viewer')).expect(403);
      const wait = await t.http.post('/admin/notifications/trigger?wait=maybe').set(t.as('operator')).expect(400);
      expect(JSON.stringify(wait.body.message)).toContain('wait must be true or false');
    });

    it('keeps the last progress when the run ends: the notice job counts the notices due it has queued', async () => {
      const fam = await newFamily(t, { startedAt: '2026-10-29T12:00:00.000Z' });
      // Past the retention at the cleanup of 29 November 00:00, inside the notice window.
      await addMessages(t, fam.conversationId, ['2026-10-29T12:00:00.000Z']);
      const res = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(res.body.noticesDue).toBeGreaterThan(0);
      const run = await t.http.get(`/admin/scheduler/runs/${res.body.run.id}`).set(t.as('viewer')).expect(200);
      expect(run.body.progress).toEqual({ done: res.body.noticesDue, total: res.body.noticesDue, unit: 'notices due' });
    });

    it('cancels a queued run: it never starts, and the queue goes on without it', async () => {
      const steer = steerCleanups(t);
      await createJob({ id: 'minutely' });
      steer.hold();
      const queued = await t.http
        .post('/admin/scheduler/jobs/minutely/backfill')
        .set(t.as('operator'))
        .send({ from: '2026-11-28T11:57:00Z', to: '2026-11-28T12:00:00Z' })
        .expect(200);
      expect(queued.body).toMatchObject({ created: 3 });
      await until('the first backfill run to start', async () => (await statuses('minutely')).includes('11:57 running'));
      expect(await statuses('minutely')).toEqual(['11:57 running', '11:58 queued', '11:59 queued']);
      const [, second] = await runsOf(t, 'minutely');
      const cancelled = await t.http.post(`/admin/scheduler/runs/${second.id}/cancel`).set(t.as('operator')).expect(202);
      expect(cancelled.body).toMatchObject({ status: 'cancelled' });
      steer.release();
      await until(
        'the queue to drain',
        async () => (await statuses('minutely')).join() === '11:57 succeeded,11:58 cancelled,11:59 succeeded',
      );
      await engineOf(t).idle();
      expect(steer.started).toEqual(['2026-11-28T11:57:00.000Z', '2026-11-28T11:59:00.000Z']);
      steer.restore();
    });

    it('a job trigger with ?wait=false answers 202 and the run goes on to its end', async () => {
      const res = await t.http
        .post('/admin/scheduler/jobs/cleanup_notifications/trigger?wait=false')
        .set(t.as('operator'))
        .send({})
        .expect(202);
      expect(res.headers.location).toBe(`/admin/scheduler/runs/${res.body.run.id}`);
      await engineOf(t).idle();
      const run = await t.http.get(res.headers.location).set(t.as('viewer')).expect(200);
      expect(run.body).toMatchObject({ id: res.body.run.id, status: 'succeeded' });
      // Without the flag the legacy route still waits and answers with the notice job summary.
      const sync = await t.http.post('/admin/notifications/trigger').set(t.as('operator')).expect(200);
      expect(sync.body).toMatchObject({ run: { status: 'succeeded' } });
      expect(sync.body).toHaveProperty('windowUntil');
    });
  });

  describe('run timeout', () => {
    it('stops a run past maxRuntimeSeconds: it ends timed_out, counted once, and its report says so', async () => {
      const steer = steerCleanups(t);
      await createJob({ id: 'minutely', maxRuntimeSeconds: 60 });
      const before = await metric(t, /^teddy_job_runs_total\{job_id="minutely",status="timed_out"\}/);
      steer.hold();
      await fireAt('2026-11-28T12:01:00.000Z');
      const [running] = await runsOf(t, 'minutely');
      expect(running.deadlineAt?.toISOString()).toBe('2026-11-28T12:02:00.000Z');
      clock.set('2026-11-28T12:01:59.000Z');
      await engineOf(t).watch();
      expect(await statuses('minutely')).toEqual(['12:01 running']);
      clock.set('2026-11-28T12:02:00.000Z');
      await engineOf(t).watch();
      expect(await statuses('minutely')).toEqual(['12:01 timed_out']);
      steer.release();
      await engineOf(t).idle();
      const [row] = await runsOf(t, 'minutely');
      expect(row.error).toBe('ran longer than its maxRuntimeSeconds (60 s) and was stopped');
      const [report] = await t.dataSource.query(`SELECT status FROM cleanup_report`);
      expect(report.status).toBe('timed_out');
      expect(await metric(t, /^teddy_job_runs_total\{job_id="minutely",status="timed_out"\}/)).toBe(before + 1);
      steer.restore();
    });
  });

  describe('pause', () => {
    it('takes a note with the pause, shows it, and clears it on resume; a note without a pause is a 400', async () => {
      const lone = await t.http
        .patch('/admin/scheduler/jobs/cleanup_notifications')
        .set(t.as('operator'))
        .send({ note: 'why' })
        .expect(400);
      expect(lone.body.message).toContain('note: goes with "paused": true');
      const paused = await t.http
        .patch('/admin/scheduler/jobs/cleanup_notifications')
        .set(t.as('operator'))
        .send({ paused: true, note: 'mail relay migration, OPS-123' })
        .expect(200);
      expect(paused.body).toMatchObject({ paused: true, pauseNote: 'mail relay migration, OPS-123' });
      const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
      expect(status.body.jobs[1]).toMatchObject({ id: 'cleanup_notifications', paused: true, pause_note: 'mail relay migration, OPS-123' });
      expect(await metric(t, /^teddy_job_paused\{job_id="cleanup_notifications"\}/)).toBe(1);
      const resumed = await t.http
        .patch('/admin/scheduler/jobs/cleanup_notifications')
        .set(t.as('operator'))
        .send({ paused: false })
        .expect(200);
      expect(resumed.body).toMatchObject({ paused: false, pauseNote: null });
      expect(await metric(t, /^teddy_job_paused\{job_id="cleanup_notifications"\}/)).toBe(0);
    });

    it('pauses a job by itself after pauseAfterFailures consecutive failed runs, audited, with a system note', async () => {
      const service = t.app.get(CleanupService);
      const failing = jest.spyOn(service, 'run').mockRejectedValue(new Error('disk full'));
      await createJob({ id: 'minutely', pauseAfterFailures: 2 });
      await fireAt('2026-11-28T12:01:00.000Z');
      await engineOf(t).idle();
      failing.mockRestore();
      await fireAt('2026-11-28T12:02:00.000Z');
      await engineOf(t).idle();
      // A success between failures starts the count again.
      const failingAgain = jest.spyOn(service, 'run').mockRejectedValue(new Error('disk full'));
      await fireAt('2026-11-28T12:03:00.000Z');
      await engineOf(t).idle();
      expect((await t.http.get('/admin/scheduler/jobs/minutely').set(t.as('viewer')).expect(200)).body.paused).toBe(false);
      await fireAt('2026-11-28T12:04:00.000Z');
      await engineOf(t).idle();
      const job = await until('the job to pause itself', async () => {
        const res = await t.http.get('/admin/scheduler/jobs/minutely').set(t.as('viewer')).expect(200);
        return res.body.paused ? res.body : undefined;
      });
      expect(job.pauseNote).toMatch(
        /^paused by the scheduler after 2 consecutive failed runs \(last: run [0-9a-f-]+, failed: disk full\)$/,
      );
      expect(await statuses('minutely')).toEqual(['12:01 failed', '12:02 succeeded', '12:03 failed', '12:04 failed']);
      const [audit] = await t.dataSource.query(`SELECT action, actor FROM audit_entry WHERE action = 'job.pause' AND target = 'minutely'`);
      expect(audit).toMatchObject({ actor: 'system' });
      expect(await metric(t, /^teddy_job_paused\{job_id="minutely"\}/)).toBe(1);
      // Paused: its next fire does not run.
      await fireAt('2026-11-28T12:05:00.000Z');
      expect(await runsOf(t, 'minutely')).toHaveLength(4);
      failingAgain.mockRestore();
    });
  });

  describe('backfill', () => {
    const backfill = (jobId: string, body: Record<string, unknown>) =>
      t.http.post(`/admin/scheduler/jobs/${jobId}/backfill`).set(t.as('operator')).send(body);

    it('runs every fire in [from, to) once, oldest first, across a DST change, and a second call runs nothing new', async () => {
      clock.set('2026-11-28T12:00:00.000Z');
      // 02:30 in Berlin: on 25 October it happens twice (fall back); the schedule fires once, at the first.
      await createJob({ id: 'berlin', cron: '30 2 * * *', timezone: 'Europe/Berlin' });
      const steer = steerCleanups(t);
      const range = { from: '2026-10-23T00:00:00Z', to: '2026-10-27T00:00:00Z' };
      const expected = ['2026-10-23T00:30:00.000Z', '2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'];

      const dry = await backfill('berlin', { ...range, dryRun: true }).expect(200);
      expect(dry.body).toEqual({ fires: expected, created: 0, existing: 0 });
      expect(await runsOf(t, 'berlin')).toHaveLength(0);

      const first = await backfill('berlin', range).expect(200);
      expect(first.body).toEqual({ fires: expected, created: 4, existing: 0 });
      await until('the backfill to finish', async () => (await runsOf(t, 'berlin')).every((r) => r.status === 'succeeded'));
      const runs = await runsOf(t, 'berlin');
      expect(runs.map((r) => [r.scheduledFor.toISOString(), r.trigger, r.triggeredBy])).toEqual(
        expected.map((at) => [at, 'backfill', 'operator']),
      );
      // Oldest first, one after another: each cleanup ran as of its own fire.
      expect(steer.started).toEqual(expected);

      const second = await backfill('berlin', { from: '2026-10-22T00:00:00Z', to: range.to }).expect(200);
      expect(second.body).toMatchObject({ created: 1, existing: 4 });
      await until(
        'the new fire',
        async () => (await runsOf(t, 'berlin')).length === 5 && (await runsOf(t, 'berlin')).every((r) => r.status === 'succeeded'),
      );
      const third = await backfill('berlin', { from: '2026-10-22T00:00:00Z', to: range.to }).expect(200);
      expect(third.body).toMatchObject({ created: 0, existing: 5 });
      await engineOf(t).idle();
      expect(await runsOf(t, 'berlin')).toHaveLength(5);
      expect(await metric(t, /^teddy_job_runs_started_total\{job_id="berlin",trigger="backfill"\}/)).toBe(5);
      const [audit] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM audit_entry WHERE action = 'job.backfill' AND target = 'berlin'`);
      expect(Number(audit.n)).toBe(3);
      steer.restore();
    });

    it('refuses more than 1000 fires, a range in the future or backwards, and bad timestamps, with a 400 naming the field', async () => {
      await createJob({ id: 'minutely' });
      const many = await backfill('minutely', { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z' }).expect(400);
      expect(many.body.message).toMatch(/^to: \[from, to\) holds more than 1000 fires/);
      const future = await backfill('minutely', { from: '2026-11-28T11:00:00Z', to: '2026-11-28T13:00:00Z' }).expect(400);
      expect(future.body.message).toMatch(/^to: must not be in the future/);
      const backwards = await backfill('minutely', { from: '2026-11-28T11:00:00Z', to: '2026-11-28T10:00:00Z' }).expect(400);
      expect(backwards.body.message).toBe('to: must be after from');
      const bad = await backfill('minutely', { from: 'yesterday', to: '2026-11-28T10:00:00Z' }).expect(400);
      expect(JSON.stringify(bad.body.message)).toContain('from');
      await backfill('nope', { from: '2026-11-28T10:00:00Z', to: '2026-11-28T11:00:00Z' }).expect(404);
      await t.http
        .post('/admin/scheduler/jobs/minutely/backfill')
        .set(t.as('viewer'))
        .send({ from: '2026-11-28T10:00:00Z', to: '2026-11-28T11:00:00Z' })
        .expect(403);
      expect(await runsOf(t, 'minutely')).toHaveLength(0);
    });
  });

  it('keeps its series from the start: running and paused gauges, started runs by trigger', async () => {
    const database = await scratchDatabase();
    const fresh = await startApp({ clock, database });
    try {
      const text = (await fresh.http.get('/metrics').expect(200)).text;
      expect(text).toMatch(/^teddy_job_running\{job_id="daily_data_cleanup"\} 0$/m);
      expect(text).toMatch(/^teddy_job_paused\{job_id="daily_data_cleanup"\} 0$/m);
      expect(text).toMatch(/^teddy_job_runs_total\{job_id="daily_data_cleanup",status="timed_out"\} 0$/m);
      expect(text).toMatch(/^teddy_job_runs_started_total\{job_id="daily_data_cleanup",trigger="backfill"\} 0$/m);
    } finally {
      await fresh.close();
      await database.drop();
    }
  });
});

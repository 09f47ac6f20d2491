import { Injectable } from '@nestjs/common';
import { Cron, SchedulerRegistry } from '@nestjs/schedule';
import { SchedulerOrchestrator } from '@nestjs/schedule/dist/scheduler.orchestrator';
import { FixedClock } from '../src/common/clock';
import { JobRun } from '../src/scheduler/job-run.entity';
import { SchedulerJob } from '../src/scheduler/job.entity';
import { JobTask } from '../src/scheduler/job-task.decorator';
import { SchedulerService } from '../src/scheduler/scheduler.service';
import type { TaskContext, TaskOutcome } from '../src/scheduler/task-contract';
import { startApp, TestApp } from './support/app';
import { BUILTIN_JOBS, scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';

/*
 * What a developer gets from one decorated method: a provider of the test's own, added to the real
 * application, carrying @Cron, becomes a stored job like the built-in ones, without a line elsewhere.
 */

/** A periodic job as a developer adds one: no @JobTask, nothing but @Cron. Remembers what it was handed. */
@Injectable()
class ExtraJobs {
  readonly calls: TaskContext[] = [];

  @Cron('*/5 * * * *', { name: 'test_extra_job' })
  async everyFiveMinutes(ctx: TaskContext): Promise<void> {
    this.calls.push(ctx);
  }
}

/** One with @JobTask: its own task name, display name, description and dry run; a zone of its own. */
@Injectable()
class NoonJobs {
  @Cron('0 12 * * *', { name: 'test_noon_job', timeZone: 'Europe/Berlin' })
  @JobTask({ task: 'noon_report', title: 'Noon report', description: 'Reports at noon in Berlin', supportsDryRun: true })
  async noon(ctx: TaskContext): Promise<TaskOutcome<{ dryRun: boolean }>> {
    return { status: 'succeeded', summary: { dryRun: ctx.dryRun, jobId: ctx.jobId }, result: { dryRun: ctx.dryRun } };
  }
}

const providers = [ExtraJobs, NoonJobs];
const engineOf = (t: TestApp) => t.app.get(SchedulerService);
const extraOf = (t: TestApp) => t.app.get(ExtraJobs);

async function runsOf(t: TestApp, jobId: string): Promise<JobRun[]> {
  return t.dataSource.getRepository(JobRun).find({ where: { jobId }, order: { scheduledFor: 'ASC', attempt: 'ASC' } });
}

describe(`a periodic job declared with @Cron (${TEST_DB})`, () => {
  const clock = new FixedClock(new Date('2026-11-28T10:02:00.000Z'));
  let database: ScratchDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await scratchDatabase();
    t = await startApp({ clock, database, providers });
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  it('is listed as a task, with the method that declares it', async () => {
    const res = await t.http.get('/admin/scheduler/tasks').set(t.as('viewer')).expect(200);
    // Ordered by job id after the original two (PostgreSQL's message_partitions sorts before test_*).
    const builtinTasks = ['cleanup', 'notices', ...(TEST_DB === 'postgres' ? ['partitions'] : [])];
    expect(res.body.map((task: { name: string }) => task.name)).toEqual([...builtinTasks, 'test_extra_job', 'noon_report']);
    const task = (name: string) => res.body.find((x: { name: string }) => x.name === name);
    expect(res.body[0]).toEqual({
      name: 'cleanup',
      description: expect.stringMatching(/^Deletes the messages and conversations older than their retention/),
      supportsDryRun: true,
      declaredBy: 'CleanupJobs.dailyDataCleanup',
      jobId: 'daily_data_cleanup',
      cron: '0 0 * * *',
      timeZone: 'UTC',
    });
    expect(task('test_extra_job')).toEqual({
      name: 'test_extra_job',
      description: 'Runs ExtraJobs.everyFiveMinutes',
      supportsDryRun: false,
      declaredBy: 'ExtraJobs.everyFiveMinutes',
      jobId: 'test_extra_job',
      cron: '*/5 * * * *',
      timeZone: null,
    });
    expect(task('noon_report')).toEqual({
      name: 'noon_report',
      description: 'Reports at noon in Berlin',
      supportsDryRun: true,
      declaredBy: 'NoonJobs.noon',
      jobId: 'test_noon_job',
      cron: '0 12 * * *',
      timeZone: 'Europe/Berlin',
    });
  });

  it('is a stored built-in job, in the jobs and the status, on its declared schedule and zone', async () => {
    const jobs = await t.http.get('/admin/scheduler/jobs').set(t.as('viewer')).expect(200);
    expect(jobs.body.map((j: { id: string }) => j.id)).toEqual([...BUILTIN_JOBS, 'test_extra_job', 'test_noon_job']);
    const job = (id: string) => jobs.body.find((j: { id: string }) => j.id === id);
    expect(job('test_extra_job')).toMatchObject({
      id: 'test_extra_job',
      name: 'test_extra_job',
      task: 'test_extra_job',
      cron: '*/5 * * * *',
      timezone: 'UTC',
      builtin: true,
      paused: false,
      nextRunTime: '2026-11-28T10:05:00+00:00',
    });
    // No SCHEDULER_TIMEZONE here: the declared zone applies.
    expect(job('test_noon_job')).toMatchObject({
      name: 'Noon report',
      task: 'noon_report',
      timezone: 'Europe/Berlin',
      nextRunTime: '2026-11-28T12:00:00+01:00',
    });
    const status = await t.http.get('/admin/scheduler/status').set(t.as('viewer')).expect(200);
    expect(status.body.total_jobs).toBe(BUILTIN_JOBS.length + 2);
    expect(status.body.jobs[BUILTIN_JOBS.length]).toMatchObject({
      id: 'test_extra_job',
      name: 'test_extra_job',
      next_run_time: '2026-11-28T10:05:00+00:00',
      trigger: "cron[minute='*/5']",
      task: 'test_extra_job',
    });
    const [row] = await t.dataSource.getRepository(SchedulerJob).findBy({ id: 'test_extra_job' });
    expect(row).toMatchObject({ builtin: true, scheduleOverridden: false, version: 1 });
  });

  it('is never handed to the cron package: no CronJob exists, and nothing runs as the clock passes its fire until the engine ticks', async () => {
    const registry = t.app.get(SchedulerRegistry);
    expect([...registry.getCronJobs().keys()]).toEqual([]);
    // Nor is one waiting to be mounted (what ScheduleModule's explorer hands over with cronJobs on).
    expect(Object.keys((t.app.get(SchedulerOrchestrator, { strict: false }) as unknown as { cronJobs: object }).cronJobs)).toEqual([]);
    // The registry is still in use, for the engine's own timers.
    expect(registry.getIntervals()).toContain('scheduler-heartbeat');

    clock.set('2026-11-28T10:05:00.000Z');
    await engineOf(t).idle();
    expect(extraOf(t).calls).toEqual([]);
    expect(await runsOf(t, 'test_extra_job')).toEqual([]);

    await engineOf(t).tick();
    await engineOf(t).idle();
    const runs = await runsOf(t, 'test_extra_job');
    expect(runs.map((r) => [r.scheduledFor.toISOString(), r.trigger, r.triggeredBy, r.status])).toEqual([
      ['2026-11-28T10:05:00.000Z', 'scheduled', 'scheduler', 'succeeded'],
    ]);
    expect(extraOf(t).calls).toHaveLength(1);
    expect(extraOf(t).calls[0]).toMatchObject({ jobId: 'test_extra_job', runId: runs[0].id, trigger: 'scheduled', dryRun: false });
    expect(extraOf(t).calls[0].scheduledFor.toISOString()).toBe('2026-11-28T10:05:00.000Z');
    const history = await t.http.get('/admin/scheduler/jobs/test_extra_job/runs').set(t.as('viewer')).expect(200);
    expect(history.body.items.map((r: { id: string }) => r.id)).toEqual([runs[0].id]);
    // A second tick at the same instant runs nothing more.
    await engineOf(t).tick();
    await engineOf(t).idle();
    expect(extraOf(t).calls).toHaveLength(1);
  });

  it('is triggered by hand like any job, with a dry run only where @JobTask offers one', async () => {
    const noon = await t.http.post('/admin/scheduler/jobs/test_noon_job/trigger').set(t.as('operator')).send({ dryRun: true }).expect(200);
    expect(noon.body).toMatchObject({ run: { jobId: 'test_noon_job', trigger: 'manual', status: 'succeeded', summary: { dryRun: true } } });
    expect(noon.body.result).toEqual({ dryRun: true });
    const dry = await t.http.post('/admin/scheduler/jobs/test_extra_job/trigger').set(t.as('operator')).send({ dryRun: true }).expect(400);
    expect(dry.body.message).toContain('dryRun');
    expect(extraOf(t).calls).toHaveLength(1);
  });

  it('is a task a job added through the API can run; an unknown task is refused naming the field and the registered tasks', async () => {
    await t.http
      .post('/admin/scheduler/jobs')
      .set(t.as('operator'))
      .send({ id: 'extra_hourly', name: 'Extra, hourly', task: 'test_extra_job', cron: '0 * * * *' })
      .expect(201);
    const bad = await t.http
      .post('/admin/scheduler/jobs')
      .set(t.as('operator'))
      .send({ id: 'x1', name: 'x', task: 'backup', cron: '0 9 * * *' })
      .expect(400);
    const registered = ['cleanup', 'notices', ...(TEST_DB === 'postgres' ? ['partitions'] : []), 'test_extra_job', 'noon_report'];
    expect(bad.body.message).toBe(`task: "backup" is not a registered task (${registered.join(', ')})`);
    const malformed = await t.http
      .post('/admin/scheduler/jobs')
      .set(t.as('operator'))
      .send({ id: 'x2', name: 'x', task: 'Not A Task', cron: '0 9 * * *' })
      .expect(400);
    expect(JSON.stringify(malformed.body.message)).toContain('task must be the name of a registered task');
    await t.http.delete('/admin/scheduler/jobs/extra_hourly').set(t.as('operator')).expect(200);
    // A declared job is built in: it can be paused, not deleted.
    await t.http.delete('/admin/scheduler/jobs/test_extra_job').set(t.as('operator')).expect(409);
  });

  it('can be changed; the change is kept over its declaration at the next start, while an unchanged job follows SCHEDULER_TIMEZONE', async () => {
    const patched = await t.http
      .patch('/admin/scheduler/jobs/test_extra_job')
      .set(t.as('operator'))
      .send({ cron: '0 * * * *', timezone: 'Asia/Tokyo' })
      .expect(200);
    expect(patched.body).toMatchObject({ cron: '0 * * * *', timezone: 'Asia/Tokyo', nextRunTime: '2026-11-28T20:00:00+09:00' });

    await t.close();
    t = await startApp({ clock, database, providers, env: { SCHEDULER_TIMEZONE: 'America/New_York' } });
    const extra = await t.http.get('/admin/scheduler/jobs/test_extra_job').set(t.as('viewer')).expect(200);
    expect(extra.body).toMatchObject({ cron: '0 * * * *', timezone: 'Asia/Tokyo' });
    // Set, SCHEDULER_TIMEZONE wins over the declared Europe/Berlin.
    const noon = await t.http.get('/admin/scheduler/jobs/test_noon_job').set(t.as('viewer')).expect(200);
    expect(noon.body).toMatchObject({ cron: '0 12 * * *', timezone: 'America/New_York', nextRunTime: '2026-11-28T12:00:00-05:00' });
    await t.http
      .patch('/admin/scheduler/jobs/test_extra_job')
      .set(t.as('operator'))
      .send({ cron: '*/5 * * * *', timezone: 'UTC' })
      .expect(200);
  });

  describe('two replicas on one database', () => {
    let a: TestApp;
    let b: TestApp;
    beforeAll(async () => {
      a = await startApp({ clock, database, providers });
      b = await startApp({ clock, database, providers });
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    it('runs each fire once, on one of them', async () => {
      clock.set('2026-11-28T12:00:00.000Z');
      await Promise.all([engineOf(a).tick(), engineOf(b).tick()]);
      await Promise.all([engineOf(a).idle(), engineOf(b).idle()]);
      const runs = await runsOf(a, 'test_extra_job');
      const fire = runs.filter((r) => r.scheduledFor.toISOString() === '2026-11-28T12:00:00.000Z');
      expect(fire.map((r) => [r.trigger, r.status])).toEqual([['scheduled', 'succeeded']]);
      expect([a, b].map((x) => extraOf(x).calls.filter((c) => c.runId === fire[0].id).length).sort()).toEqual([0, 1]);
      expect(extraOf(a).calls.length + extraOf(b).calls.length).toBe(1);
    });
  });

  it('catches up a fire missed while no replica was up', async () => {
    await t.close();
    clock.set('2026-11-28T12:17:00.000Z');
    t = await startApp({ clock, database, providers });
    await engineOf(t).tick();
    await engineOf(t).idle();
    const runs = await runsOf(t, 'test_extra_job');
    // 12:05, 12:10 and 12:15 were missed: one run, of the latest, standing for the two before it.
    expect(runs.at(-1)).toMatchObject({ trigger: 'catch-up', status: 'succeeded', summary: { coalescedFires: 2 } });
    expect(runs.at(-1)!.scheduledFor.toISOString()).toBe('2026-11-28T12:15:00.000Z');
    expect(extraOf(t).calls.map((c) => c.trigger)).toEqual(['catch-up']);
  });
});

describe(`the notice job's schedule, wherever it comes from (${TEST_DB})`, () => {
  it('stops the start when the declared one leaves a cleanup unannounced in the zone it runs in', async () => {
    // 23:00 in Berlin: the night the clocks go back is 25 hours long, more than one day of notice.
    const clock = new FixedClock(new Date('2026-10-01T00:00:00.000Z'));
    await expect(startApp({ clock, env: { SCHEDULER_TIMEZONE: 'Europe/Berlin', NOTICE_DAYS_BEFORE: '1' } })).rejects.toThrow(
      'cleanup_notifications: its schedule "0 23 * * *" leaves up to 25 h between notice runs, more than NOTICE_DAYS_BEFORE (1 days): some deletions would be announced less than that ahead (cron from @Cron on NoticeJobs.cleanupNotifications, zone from SCHEDULER_TIMEZONE)',
    );
    // In UTC the same declaration is fine.
    const t = await startApp({ clock, env: { NOTICE_DAYS_BEFORE: '1' } });
    await t.close();
  });
});

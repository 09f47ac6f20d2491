import { Injectable, Scope, Type } from '@nestjs/common';
import { DiscoveryModule, Reflector } from '@nestjs/core';
import { Cron, Interval } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { CleanupJobs } from '../cleanup/cleanup.jobs';
import { validateEnv } from '../config/env.validation';
import { NoticeJobs } from '../notifications/notice.jobs';
import { JobTask } from './job-task.decorator';
import { builtinJobs, CLEANUP_JOB_ID, NOTICE_JOB_ID } from './jobs';
import type { TaskContext, TaskOutcome } from './task-contract';
import { readDeclaration, Task, TaskRegistry } from './tasks';

/** A registry over these providers alone, started (discovery runs at module init). */
async function registryOf(...providers: Type[]): Promise<TaskRegistry> {
  const module = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [TaskRegistry, ...providers] }).compile();
  await module.init();
  return module.get(TaskRegistry);
}

const context = (over: Partial<TaskContext> = {}) => ({ jobId: 'x', runId: 'r', dryRun: false, ...over }) as TaskContext;

@Injectable()
class Plain {
  seen: TaskContext[] = [];
  @Cron('*/5 * * * *', { name: 'plain_job' })
  tick(ctx: TaskContext): void {
    this.seen.push(ctx);
  }
  notAJob(): string {
    return 'not run';
  }
  @Interval(60_000)
  interval(): void {}
}

@Injectable()
class Described {
  @Cron('0 3 * * *', { name: 'described_job', timeZone: 'Europe/Berlin' })
  @JobTask({ task: 'report', title: 'Nightly report', description: 'Writes the report', supportsDryRun: true })
  async nightly(ctx: TaskContext): Promise<TaskOutcome<number>> {
    if (ctx.dryRun) return { status: 'failed', error: 'dry', summary: null };
    return { status: 'succeeded', summary: { n: 1 }, result: 1 };
  }
}

describe('TaskRegistry: every @Cron method of the application is a task', () => {
  it('finds decorated methods on any provider, with @JobTask or without, and runs them', async () => {
    const registry = await registryOf(Plain, Described);
    // In job id order: described_job, then plain_job. Plain.notAJob and the @Interval are no tasks.
    expect(registry.names()).toEqual(['report', 'plain_job']);
    expect(registry.get('plain_job')).toMatchObject({
      name: 'plain_job',
      description: 'Runs Plain.tick',
      supportsDryRun: false,
      declaredBy: 'Plain.tick',
      job: { id: 'plain_job', name: 'plain_job', cron: '*/5 * * * *' },
    });
    expect(registry.get('plain_job').job.timeZone).toBeUndefined();
    expect(registry.get('report')).toMatchObject({
      name: 'report',
      description: 'Writes the report',
      supportsDryRun: true,
      declaredBy: 'Described.nightly',
      job: { id: 'described_job', name: 'Nightly report', cron: '0 3 * * *', timeZone: 'Europe/Berlin' },
    });
    // A method answering nothing succeeded; one answering an outcome is taken at its word.
    expect(await registry.get('plain_job').run(context({ jobId: 'plain_job' }))).toEqual({
      status: 'succeeded',
      summary: {},
      result: undefined,
    });
    expect(await registry.get('report').run(context())).toEqual({ status: 'succeeded', summary: { n: 1 }, result: 1 });
    expect(await registry.get('report').run(context({ dryRun: true }))).toEqual({ status: 'failed', error: 'dry', summary: null });
    expect(registry.find('nope')).toBeUndefined();
    expect(() => registry.get('nope')).toThrow('task: "nope" is not a registered task (report, plain_job)');
  });

  it('calls the method on the instance Nest made', async () => {
    const module = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [TaskRegistry, Plain] }).compile();
    await module.init();
    await module
      .get(TaskRegistry)
      .get('plain_job')
      .run(context({ runId: 'run-1' }));
    expect(module.get(Plain).seen.map((c) => c.runId)).toEqual(['run-1']);
  });

  it("lists the original service's jobs first, in its order, then the others by job id", async () => {
    @Injectable()
    class Zeta {
      @Cron('0 0 * * *', { name: 'a_first_by_id' })
      a(): void {}
      @Cron('0 23 * * *', { name: NOTICE_JOB_ID })
      @JobTask({ task: 'notices' })
      async n(): Promise<TaskOutcome<never>> {
        return { status: 'failed', error: 'x', summary: null };
      }
      @Cron('0 0 * * *', { name: CLEANUP_JOB_ID })
      @JobTask({ task: 'cleanup' })
      async c(): Promise<TaskOutcome<never>> {
        return { status: 'failed', error: 'x', summary: null };
      }
    }
    expect((await registryOf(Zeta)).list().map((t) => t.job.id)).toEqual([CLEANUP_JOB_ID, NOTICE_JOB_ID, 'a_first_by_id']);
  });

  describe('refuses to start, naming the class and method, for', () => {
    const refused = async (provider: Type, message: string | RegExp) => expect(registryOf(provider)).rejects.toThrow(message);

    it('a @Cron without a name', async () => {
      @Injectable()
      class Nameless {
        @Cron('0 0 * * *')
        run(): void {}
      }
      await refused(Nameless, "Nameless.run: @Cron needs a name, the job's id: @Cron(expression, { name: '<job id>' })");
    });

    it('a name that is not a job id, or a task name too long for the column', async () => {
      @Injectable()
      class BadName {
        @Cron('0 0 * * *', { name: 'Bad Name' })
        run(): void {}
      }
      await refused(BadName, 'BadName.run: @Cron name "Bad Name" is not a job id');
      @Injectable()
      class LongName {
        @Cron('0 0 * * *', { name: 'a_job_name_that_is_longer_than_thirty_two' })
        run(): void {}
      }
      await refused(LongName, /^LongName\.run: task name "a_job_name_that_is_longer_than_thirty_two" \(the @Cron name/);
    });

    it('two methods with the same name, or the same task', async () => {
      @Injectable()
      class One {
        @Cron('0 0 * * *', { name: 'same' })
        run(): void {}
      }
      @Injectable()
      class Two {
        @Cron('0 1 * * *', { name: 'same' })
        go(): void {}
        @Cron('0 2 * * *', { name: 'other' })
        @JobTask({ task: 'shared' })
        async a(): Promise<TaskOutcome<unknown>> {
          return { status: 'succeeded', summary: {}, result: null };
        }
        @Cron('0 3 * * *', { name: 'another' })
        @JobTask({ task: 'shared' })
        async b(): Promise<TaskOutcome<unknown>> {
          return { status: 'succeeded', summary: {}, result: null };
        }
      }
      await expect(registryOf(One, Two)).rejects.toThrow('job id (the @Cron name) "same" is declared twice: by One.run and by Two.go');
      @Injectable()
      class Three {
        @Cron('0 2 * * *', { name: 'other' })
        @JobTask({ task: 'shared' })
        async a(): Promise<TaskOutcome<unknown>> {
          return { status: 'succeeded', summary: {}, result: null };
        }
        @Cron('0 3 * * *', { name: 'another' })
        @JobTask({ task: 'shared' })
        async b(): Promise<TaskOutcome<unknown>> {
          return { status: 'succeeded', summary: {}, result: null };
        }
      }
      await refused(Three, 'task name "shared" is declared twice: by Three.a and by Three.b');
    });

    it('a bad expression or zone, a Date, or an option the engine would not honour', async () => {
      @Injectable()
      class BadCron {
        @Cron('61 * * * *', { name: 'bad_cron' })
        run(): void {}
      }
      await refused(
        BadCron,
        'BadCron.run: @Cron of job "bad_cron": "61 * * * *" is not a valid cron expression (minute: value 61 is out of range 0-59)',
      );
      @Injectable()
      class BadZone {
        @Cron('0 0 * * *', { name: 'bad_zone', timeZone: 'Mars/Olympus' })
        run(): void {}
      }
      await refused(BadZone, 'BadZone.run: @Cron of job "bad_zone": timeZone "Mars/Olympus" is not a known IANA time zone');
      @Injectable()
      class OneOff {
        @Cron(new Date('2030-01-01T00:00:00Z'), { name: 'one_off' })
        run(): void {}
      }
      await refused(OneOff, 'OneOff.run: @Cron of job "one_off" must give a cron expression (a string)');
      @Injectable()
      class Offset {
        @Cron('0 0 * * *', { name: 'offset', utcOffset: 60 })
        run(): void {}
      }
      await refused(Offset, 'Offset.run: @Cron of job "offset": utcOffset is not supported by the scheduler; give timeZone instead');
      @Injectable()
      class Disabled {
        @Cron('0 0 * * *', { name: 'disabled', disabled: true })
        run(): void {}
      }
      await refused(Disabled, 'Disabled.run: @Cron of job "disabled": disabled is not supported by the scheduler');
    });

    it('a @JobTask without @Cron', async () => {
      @Injectable()
      class Unscheduled {
        @JobTask({ task: 'lonely' })
        async run(): Promise<TaskOutcome<unknown>> {
          return { status: 'succeeded', summary: {}, result: null };
        }
      }
      await refused(Unscheduled, 'Unscheduled.run: @JobTask without @Cron');
    });

    it('a @Cron on a request-scoped provider', async () => {
      @Injectable({ scope: Scope.REQUEST })
      class PerRequest {
        @Cron('0 0 * * *', { name: 'per_request' })
        run(): void {}
      }
      await refused(PerRequest, 'PerRequest.run: a @Cron method must be on a singleton provider');
    });
  });
});

describe('@JobTask', () => {
  it("holds a task of TaskResults to that task's result type (checked by the compiler)", () => {
    @Injectable()
    class WrongResult {
      @Cron('0 0 * * *', { name: 'wrong_result' })
      // @ts-expect-error: the cleanup task's result is a CleanupReport, not a number
      @JobTask({ task: 'cleanup' })
      async run(): Promise<TaskOutcome<number>> {
        return { status: 'succeeded', summary: {}, result: 1 };
      }
    }
    expect(readDeclaration(new Reflector(), WrongResult.prototype.run, 'WrongResult.run')?.name).toBe('cleanup');
  });
});

describe('the built-in declarations', () => {
  const reflector = new Reflector();
  const declared = (cls: Type, method: string) => readDeclaration(reflector, cls.prototype[method], `${cls.name}.${method}`);

  it("keep the original service's job ids, task names (stored in existing rows) and display names", () => {
    expect(declared(CleanupJobs, 'dailyDataCleanup')).toMatchObject({
      name: 'cleanup',
      supportsDryRun: true,
      job: { id: CLEANUP_JOB_ID, name: 'Daily Data Cleanup', cron: '0 0 * * *', timeZone: 'UTC' },
    });
    expect(declared(NoticeJobs, 'cleanupNotifications')).toMatchObject({
      name: 'notices',
      supportsDryRun: false,
      job: { id: NOTICE_JOB_ID, name: 'Cleanup Warning Notifications', cron: '0 23 * * *', timeZone: 'UTC' },
    });
  });
});

describe('builtinJobs: the schedule a declared job is stored with', () => {
  const task = (id: string, cron: string, timeZone?: string): Task => ({
    name: id,
    description: '',
    supportsDryRun: false,
    declaredBy: `Jobs.${id}`,
    job: { id, name: id, cron, ...(timeZone ? { timeZone } : {}) },
    run: async () => ({ status: 'succeeded', summary: {}, result: null }),
  });
  const tasks = [
    task('extra', '*/5 * * * *'),
    task(NOTICE_JOB_ID, '0 23 * * *', 'Europe/Berlin'),
    task(CLEANUP_JOB_ID, '0 0 * * *', 'UTC'),
  ];
  const schedules = (env: Record<string, string>) => builtinJobs(tasks, validateEnv(env)).map((b) => [b.id, b.cron, b.timezone]);

  it('is the declaration, in the original order, with UTC for a job that gives no zone', () => {
    expect(schedules({})).toEqual([
      [CLEANUP_JOB_ID, '0 0 * * *', 'UTC'],
      [NOTICE_JOB_ID, '0 23 * * *', 'Europe/Berlin'],
      ['extra', '*/5 * * * *', 'UTC'],
    ]);
    expect(builtinJobs(tasks, validateEnv({}))[1]).toMatchObject({
      cronFrom: '@Cron on Jobs.cleanup_notifications',
      timezoneFrom: '@Cron on Jobs.cleanup_notifications',
    });
  });

  it("takes each job's own variable over its expression, and SCHEDULER_TIMEZONE, when set, over every zone", () => {
    expect(schedules({ CLEANUP_CRON: '0 2 * * *', SCHEDULER_TIMEZONE: 'Asia/Tokyo' })).toEqual([
      [CLEANUP_JOB_ID, '0 2 * * *', 'Asia/Tokyo'],
      [NOTICE_JOB_ID, '0 23 * * *', 'Asia/Tokyo'],
      ['extra', '*/5 * * * *', 'Asia/Tokyo'],
    ]);
    expect(schedules({ NOTIFY_CRON: '0 9,21 * * *' })[1]).toEqual([NOTICE_JOB_ID, '0 9,21 * * *', 'Europe/Berlin']);
    // Set to the default, it is still set: the deployment said UTC.
    expect(schedules({ SCHEDULER_TIMEZONE: 'UTC' })[1]).toEqual([NOTICE_JOB_ID, '0 23 * * *', 'UTC']);
    // Empty is unset.
    expect(schedules({ SCHEDULER_TIMEZONE: '', NOTIFY_CRON: '' })[1]).toEqual([NOTICE_JOB_ID, '0 23 * * *', 'Europe/Berlin']);
    expect(builtinJobs(tasks, validateEnv({ CLEANUP_CRON: '0 2 * * *' }))[0]).toMatchObject({
      cronFrom: 'CLEANUP_CRON',
      timezoneFrom: '@Cron on Jobs.daily_data_cleanup',
    });
  });
});

import { BadRequestException, Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
// Not re-exported by the package's index: the metadata keys and type @Cron writes (dist/decorators/cron.decorator.js).
import { SchedulerType } from '@nestjs/schedule/dist/enums/scheduler-type.enum';
import { SCHEDULE_CRON_OPTIONS, SCHEDULER_TYPE } from '@nestjs/schedule/dist/schedule.constants';
import type { CleanupReport } from '../cleanup/cleanup-report.entity';
import { isValidTimeZone } from '../common/cron';
import { cronProblem } from '../common/validation';
import type { JobSummary } from '../notifications/notice.service';
import type { PartitionMaintenance } from '../partitions/partitions.jobs';
import { JOB_ID_PATTERN, TASK_NAME_PATTERN } from './dto/job.dto';
import { JOB_TASK, JobTaskOptions } from './job-task.decorator';
import { compareBuiltinIds } from './jobs';
import type { TaskContext, TaskOutcome } from './task-contract';

// The contract moved to task-contract.ts (importable by cleanup and notifications without a cycle); re-exported for existing imports.
export type { TaskContext, TaskOutcome } from './task-contract';

/** What each task's run produces: the service's own record of it (the cleanup report, the notice job summary). */
export interface TaskResults {
  cleanup: CleanupReport;
  notices: JobSummary;
  partitions: PartitionMaintenance;
}
export type TaskName = keyof TaskResults;

/** One @Cron-declared method, taken over by the scheduler: a task, and the built-in job that runs it. */
export interface Task {
  /** The task's name (@JobTask's `task`, else the @Cron name): what a stored job names. */
  name: string;
  description: string;
  supportsDryRun: boolean;
  /** The method that declares it, as Class.method. */
  declaredBy: string;
  /**
   * The built-in job it is declared as: its id (the @Cron name), display name, and the schedule its
   * @Cron gives. The stored job's schedule may differ: CLEANUP_CRON / NOTIFY_CRON / SCHEDULER_TIMEZONE,
   * or an operator's change, win over the declaration (jobs.ts).
   */
  job: { id: string; name: string; cron: string; timeZone?: string };
  run(context: TaskContext): Promise<TaskOutcome<unknown>>;
}

/** A @Cron or @JobTask the scheduler cannot take over. Thrown at boot: the service does not start. */
export class JobDeclarationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobDeclarationError';
  }
}

/** @Cron options that the `cron` package honours and the scheduler's own engine does not: refused rather than ignored. */
const UNSUPPORTED_CRON_OPTIONS: Record<string, string> = {
  utcOffset: 'give timeZone instead',
  disabled: 'declare the job and pause it through the admin API (PATCH {"paused": true}) instead',
  initialDelay: 'the scheduler catches up missed fires itself (misfire grace)',
};

type Declaration = Omit<Task, 'run'>;

/**
 * What a method's decorators declare, or undefined when it has no @Cron. Throws JobDeclarationError,
 * naming the class and method, for a declaration the scheduler cannot run.
 */
export function readDeclaration(reflector: Reflector, method: unknown, declaredBy: string): Declaration | undefined {
  if (typeof method !== 'function') return undefined;
  const refuse = (problem: string) => new JobDeclarationError(`${declaredBy}: ${problem}`);
  const jobTask = reflector.get<JobTaskOptions | undefined>(JOB_TASK, method);
  if (reflector.get<SchedulerType | undefined>(SCHEDULER_TYPE, method) !== SchedulerType.CRON) {
    if (jobTask) throw refuse('@JobTask without @Cron: give the method its schedule with @Cron(expression, { name })');
    return undefined;
  }
  const options = reflector.get<Record<string, unknown>>(SCHEDULE_CRON_OPTIONS, method) ?? {};
  const { cronTime, name, timeZone } = options;
  if (typeof name !== 'string' || name === '')
    throw refuse(`@Cron needs a name, the job's id: @Cron(expression, { name: '<job id>' }) (lower-case letters, digits, _ . -)`);
  if (!JOB_ID_PATTERN.test(name))
    throw refuse(
      `@Cron name "${name}" is not a job id: 1-64 characters, lower-case letters, digits, _ . - (starting with a letter or digit)`,
    );
  if (typeof cronTime !== 'string')
    throw refuse(`@Cron of job "${name}" must give a cron expression (a string); a Date or DateTime is not supported by the scheduler`);
  const problem = cronProblem(cronTime);
  if (problem) throw refuse(`@Cron of job "${name}": "${cronTime}" is not a valid cron expression (${problem})`);
  if (timeZone !== undefined && (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)))
    throw refuse(`@Cron of job "${name}": timeZone "${String(timeZone)}" is not a known IANA time zone (e.g. UTC, Europe/Berlin)`);
  for (const [option, instead] of Object.entries(UNSUPPORTED_CRON_OPTIONS)) {
    if (options[option] !== undefined) throw refuse(`@Cron of job "${name}": ${option} is not supported by the scheduler; ${instead}`);
  }
  const task = jobTask?.task ?? name;
  if (!TASK_NAME_PATTERN.test(task)) {
    const fix = jobTask?.task ? '' : ' (the @Cron name, as there is no @JobTask({ task }) to give a shorter one)';
    throw refuse(`task name "${task}"${fix} must be 1-32 characters: lower-case letters, digits, _ . -`);
  }
  const title = jobTask?.title ?? name;
  if (title.trim() === '' || title.length > 200) throw refuse(`@JobTask title must be 1-200 characters`);
  return {
    name: task,
    description: jobTask?.description ?? `Runs ${declaredBy}`,
    supportsDryRun: jobTask?.supportsDryRun ?? false,
    declaredBy,
    job: { id: name, name: title, cron: cronTime.trim(), ...(timeZone ? { timeZone: timeZone as string } : {}) },
  };
}

/** What a @Cron method answered, as an outcome: a method without @JobTask may answer anything (or nothing); it succeeded. */
function asOutcome(value: unknown): TaskOutcome<unknown> {
  if (value && typeof value === 'object') {
    const { status, summary } = value as { status?: unknown; summary?: unknown };
    if ((status === 'succeeded' || status === 'failed') && summary !== undefined) return value as TaskOutcome<unknown>;
  }
  return { status: 'succeeded', summary: {}, result: value };
}

/**
 * The work a job can run: every @Cron-declared method in the application, found at start through
 * Nest's discovery (as @nestjs/schedule's own explorer finds them, which is told to leave them alone:
 * ScheduleModule.forRoot({ cronJobs: false })). Each is a task here and a built-in stored job in the
 * catalogue (JobCatalogue.ensureBuiltins). Adding a periodic job is one decorated method; no list to edit.
 */
@Injectable()
export class TaskRegistry implements OnModuleInit {
  private tasks?: Map<string, Task>;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  /** Every provider exists by now; a bad declaration stops the boot here. */
  onModuleInit(): void {
    this.load();
  }

  names(): string[] {
    return [...this.load().keys()];
  }

  /** In job order: the original service's jobs first, then the others by job id. */
  list(): Task[] {
    return [...this.load().values()];
  }

  find(name: string): Task | undefined {
    return this.load().get(name);
  }

  get(name: string): Task {
    const task = this.load().get(name);
    if (!task) throw new BadRequestException(`task: "${name}" is not a registered task (${this.names().join(', ')})`);
    return task;
  }

  private load(): Map<string, Task> {
    if (this.tasks) return this.tasks;
    const found: Task[] = [];
    const visited = new WeakMap<object, Set<string>>();
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object') continue;
      const prototype: object | null = Object.getPrototypeOf(instance);
      if (!prototype) continue;
      const className = (prototype.constructor as { name?: string } | undefined)?.name || String(wrapper.name);
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn: unknown = (instance as Record<string, unknown>)[method];
        const declaration = readDeclaration(this.reflector, fn, `${className}.${method}`);
        if (!declaration) continue;
        if (!wrapper.isDependencyTreeStatic())
          throw new JobDeclarationError(
            `${declaration.declaredBy}: a @Cron method must be on a singleton provider; ${className} is request- or transient-scoped`,
          );
        // The same instance under a second token (useExisting) is the same declaration.
        const methods = visited.get(instance) ?? new Set<string>();
        if (methods.has(method)) continue;
        visited.set(instance, methods.add(method));
        const call = fn as (context: TaskContext) => unknown;
        found.push({ ...declaration, run: async (context) => asOutcome(await call.call(instance, context)) });
      }
    }
    for (const [key, what] of [
      ['id', 'job id (the @Cron name)'],
      ['name', 'task name'],
    ] as const) {
      const byKey = new Map<string, Task>();
      for (const task of found) {
        const value = key === 'id' ? task.job.id : task.name;
        const other = byKey.get(value);
        if (other?.declaredBy === task.declaredBy)
          throw new JobDeclarationError(
            `${task.declaredBy}: its class has more than one instance (provided by two modules?); a @Cron method must have one`,
          );
        if (other) throw new JobDeclarationError(`${what} "${value}" is declared twice: by ${other.declaredBy} and by ${task.declaredBy}`);
        byKey.set(value, task);
      }
    }
    found.sort((a, b) => compareBuiltinIds(a.job.id, b.job.id));
    this.tasks = new Map(found.map((task) => [task.name, task]));
    return this.tasks;
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { FireCalendar } from '../common/cron/fire-calendar';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { FenceLost, WriteFence } from '../database/write-fence';
import { JobRun, RunProgress } from './job-run.entity';
import { SchedulerJob } from './job.entity';
import { JobCatalogue } from './job-catalogue';
import { JobMonitor } from './job-monitor';
import { AbandonedRun, leaseHeld } from './ledger-sql';
import { JobLedger } from './ledger.service';
import { TaskOutcome, TaskRegistry } from './tasks';

/** At shutdown, how long a given-up run may take to stop at its fence and write its report. */
const STOP_GRACE_MS = 2000;
/** A run's progress is written to its row at most this often (and, while it moves, at least every 5 s). */
const PROGRESS_WRITE_MS = 2000;

/** The latest progress a task reported, and whether its row has it yet. */
interface ProgressSeen {
  latest?: RunProgress;
  written: boolean;
  writtenAt: number;
}

interface InFlight {
  run: JobRun;
  done: Promise<RunResult>;
  stop: AbortController;
  progress: ProgressSeen;
}

export interface RunResult<R = unknown> {
  /** The run as recorded in the ledger: status, summary and error come from the task's outcome. */
  run: JobRun;
  /** The task's own record (the cleanup report, the notice job summary); absent when the task threw. */
  result?: R;
}

/** Why a run of this replica's stops, as its task (and its cleanup report) will tell it. */
function takenReason(t: Pick<AbandonedRun, 'id' | 'status' | 'reason'>): FenceLost {
  if (t.status === 'abandoned') return new FenceLost(`run ${t.id} lost its lease: ${t.reason ?? 'another replica took it over'}`, t.status);
  return new FenceLost(t.reason ?? `run ${t.id} was ${t.status}`, t.status);
}

/**
 * Runs claimed runs to their end and records the end; holds what this replica is running, renews
 * those leases, and at shutdown waits for them and then gives up what is left.
 */
@Injectable()
export class RunExecutor {
  /** This replica, as the owner of its runs in the ledger. */
  readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger('Scheduler');
  private readonly inFlight = new Map<string, InFlight>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly ledger: JobLedger,
    private readonly tasks: TaskRegistry,
    private readonly catalogue: JobCatalogue,
    private readonly monitor: JobMonitor,
  ) {}

  /** Runs a claimed run to its end and records the end. Never rejects. */
  execute<R>(
    def: SchedulerJob,
    run: JobRun,
    options: { dryRun: boolean; cleanups: FireCalendar; notices: FireCalendar; extra?: Record<string, unknown> },
  ): Promise<RunResult<R>> {
    const extra = options.extra ?? {};
    const stop = new AbortController();
    const fence = this.fence(run, stop);
    const seen: ProgressSeen = { written: true, writtenAt: 0 };
    const progress = (p: RunProgress) => {
      seen.latest = p;
      seen.written = false;
    };
    this.catalogue.noteRun(run);
    this.monitor.started(run);
    // The task starts a microtask later, so that the run is in flight here before its first
    // statement (which runs before any await) can ask: a heartbeat, a test.
    const done = Promise.resolve()
      .then(async (): Promise<RunResult<R>> => {
        const outcome = await this.outcome<R>(def, run, {
          dryRun: options.dryRun,
          cleanups: options.cleanups,
          notices: options.notices,
          fence,
          progress,
        });
        const summary = outcome.summary || Object.keys(extra).length ? { ...extra, ...outcome.summary } : null;
        const error = outcome.status === 'failed' ? outcome.error : null;
        let final: JobRun = { ...run, status: outcome.status, summary, error, finishedAt: this.clock.now() };
        let countedElsewhere = false;
        try {
          const ended = await this.ledger.finish(run, outcome.status, summary, error, seen.latest);
          final = ended.run;
          // A lost run was counted as abandoned by whoever took its lease: it is not counted again.
          countedElsewhere = ended.lost;
        } catch (e) {
          // The row stays "running" until its lease runs out; another replica then marks it abandoned.
          this.logger.error({ err: e, runId: run.id }, `could not record the end (${outcome.status}) of run ${run.id} of ${def.id}`);
        }
        if (!countedElsewhere) this.monitor.finished(final);
        this.catalogue.noteRun(final);
        return { run: final, result: outcome.result };
      })
      .finally(() => {
        this.inFlight.delete(run.id);
        this.monitor.running(run.jobId, this.countOf(run.jobId));
      });
    this.inFlight.set(run.id, { run, done, stop, progress: seen });
    this.monitor.running(run.jobId, this.countOf(run.jobId));
    return done;
  }

  private countOf(jobId: string): number {
    let n = 0;
    for (const f of this.inFlight.values()) if (f.run.jobId === jobId) n += 1;
    return n;
  }

  /**
   * Every second while runs are in flight here: times out the runs past their deadline, stops the
   * ones taken away elsewhere (cancelled from another replica, reaped), and writes their progress.
   * A taken-away run is stopped here within a second, even between two writes of its own.
   */
  async watch(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const now = this.clock.now();
    for (const f of [...this.inFlight.values()]) {
      const { run, stop } = f;
      if (!run.deadlineAt || run.deadlineAt > now || stop.signal.aborted) continue;
      const seconds = Math.round((run.deadlineAt.getTime() - run.startedAt.getTime()) / 1000);
      const taken = await this.ledger.takeAway(
        [run.id],
        'timed_out',
        `ran longer than its maxRuntimeSeconds (${seconds} s) and was stopped`,
      );
      for (const t of taken) this.monitor.takenAway(t);
    }
    for (const t of await this.ledger.takenAway(this.runIds())) this.stopTaken(t);
    for (const { run, progress } of this.inFlight.values()) {
      if (progress.written || !progress.latest || Date.now() - progress.writtenAt < PROGRESS_WRITE_MS) continue;
      progress.written = true;
      progress.writtenAt = Date.now();
      await this.ledger.writeProgress(run.id, progress.latest);
    }
  }

  /** Stops a run of this replica's that was taken away, with the reason that took it. */
  stopTaken(t: AbandonedRun): void {
    const f = this.inFlight.get(t.id);
    if (!f || f.stop.signal.aborted) return;
    this.logger.warn(
      { runId: t.id, jobId: t.jobId, status: t.status },
      `run ${t.id} of ${t.jobId} was ${t.status.replace('_', ' ')}: stopping it (${t.reason ?? 'no reason given'})`,
    );
    f.stop.abort(takenReason(t));
  }

  /** The progress last reported by a run in flight here. */
  progressOf(runId: string): RunProgress | undefined {
    return this.inFlight.get(runId)?.progress.latest;
  }

  /**
   * The fence of a run's writes: its row must still say running (ledger-sql.ts, leaseHeld). The
   * signal stops the task between batches as soon as this replica learns the run was taken away:
   * at a heartbeat, at a fenced write that changed nothing, or at shutdown.
   */
  private fence(run: JobRun, stop: AbortController): WriteFence {
    return {
      signal: stop.signal,
      condition: (p) => leaseHeld(this.db.kind, p, run.id),
      check: async () => {
        if (await this.ledger.stillRunning(run.id)) return;
        // Taken away by this replica (shutdown, timeout) or found so by its watch: that reason says more.
        if (!stop.signal.aborted) {
          const [taken] = await this.ledger.takenAway([run.id]);
          stop.abort(takenReason(taken ?? { id: run.id, status: 'abandoned' }));
        }
        throw stop.signal.reason;
      },
    };
  }

  /** The task's outcome; a task that throws (or is missing) failed with nothing to show. */
  private async outcome<R>(
    def: SchedulerJob,
    run: JobRun,
    given: { dryRun: boolean; cleanups: FireCalendar; notices: FireCalendar; fence: WriteFence; progress: (p: RunProgress) => void },
  ): Promise<TaskOutcome<R>> {
    try {
      const task = this.tasks.find(def.task);
      if (!task) throw new Error(`task "${def.task}" is not registered in this version of the service`);
      const context = {
        jobId: def.id,
        runId: run.id,
        scheduledFor: run.scheduledFor,
        trigger: run.trigger,
        triggeredBy: run.triggeredBy,
        ...given,
      };
      // The registry is keyed by the name stored in the job row; the caller that asked for R checked that name.
      return (await task.run(context)) as TaskOutcome<R>;
    } catch (e) {
      return { status: 'failed', error: e instanceof Error ? e.message : String(e), summary: null };
    }
  }

  /** Renews the leases of the runs this replica holds, and stops those it no longer holds. */
  async heartbeat(): Promise<void> {
    const ids = this.runIds();
    const held = new Set(await this.ledger.heartbeat(this.instanceId, ids));
    // A run started after the list was taken is not judged this time; one taken away is stopped with the reason that took it.
    const notHeld = ids.filter((id) => !held.has(id) && this.inFlight.has(id));
    for (const t of await this.ledger.takenAway(notHeld)) this.stopTaken(t);
  }

  runIds(): string[] {
    return [...this.inFlight.keys()];
  }

  runningHere(): JobRun[] {
    return [...this.inFlight.values()].map((r) => r.run);
  }

  /** Resolves when every run this replica started has ended (tests, the command line). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()].map((r) => r.done));
  }

  /**
   * Shutdown: wait for the runs in flight up to SHUTDOWN_TIMEOUT_MS (renewing their leases
   * meanwhile), then give up what is still running, marked abandoned so that another replica runs
   * those fires again at once rather than after the lease.
   */
  async drain(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const deadline = Date.now() + this.env.SHUTDOWN_TIMEOUT_MS;
    const heartbeatMs = Math.max(1000, (this.env.SCHEDULER_LEASE_SECONDS * 1000) / 3);
    const names = (runs: JobRun[]) => runs.map((r) => `${r.jobId} (run ${r.id})`).join(', ');
    this.logger.log(
      `shutting down: waiting up to ${this.env.SHUTDOWN_TIMEOUT_MS} ms for ${this.inFlight.size} running job(s): ${names(this.runningHere())}`,
    );
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      const all = Promise.allSettled([...this.inFlight.values()].map((r) => r.done));
      await Promise.race([all, sleep(Math.min(heartbeatMs, Math.max(0, deadline - Date.now())))]);
      if (this.inFlight.size > 0) await this.heartbeat().catch(() => undefined);
    }
    const left = this.runningHere();
    if (left.length === 0) {
      this.logger.log('shutting down: every running job finished');
      return;
    }
    const reason = `the replica shut down before the run finished (SHUTDOWN_TIMEOUT_MS=${this.env.SHUTDOWN_TIMEOUT_MS}); another replica runs the fire again`;
    // Stop the tasks first, so that they end with this reason rather than meet their fence without it.
    for (const r of left) this.inFlight.get(r.id)?.stop.abort(new FenceLost(reason));
    const taken = await this.ledger
      .takeAway(
        left.map((r) => r.id),
        'abandoned',
        reason,
      )
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'could not release the unfinished runs; their leases will expire instead');
        return [];
      });
    // Counted here, once; a run cancelled or timed out meanwhile was counted by whoever took it.
    for (const t of taken) this.monitor.takenAway(t);
    const n = taken.length;
    this.logger.warn(`shutting down: gave up ${n} unfinished run(s): ${names(left)}`);
    // Stopped at their fences, the tasks end at their next batch: let them write their reports
    // (how far they got) while the database is still open, but no longer than a batch or two takes.
    const stopped = Promise.allSettled(left.map((r) => this.inFlight.get(r.id)?.done));
    await Promise.race([stopped, sleep(STOP_GRACE_MS)]);
  }
}

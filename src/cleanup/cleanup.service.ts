import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { persistently } from '../database/retry';
import { SqlParams } from '../database/sql';
import { FenceLost, NO_FENCE, WriteFence } from '../database/write-fence';
import { AppErrors } from '../metrics/app-errors.service';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { CleanupReport, CleanupTrigger } from './cleanup-report.entity';
import { conversationDue, DAY_MS, heldForNotice, messageDue, RetentionPlan, retentionPlan, shorterRetentionsQuery } from './retention';
import { RETENTION_STORAGE, RetentionStorage } from './retention-storage';

export const CLEANUP_DELETED = 'teddy_cleanup_deleted_total';

export interface RunOptions {
  /** The run's scheduled time; the cutoffs are computed from it. Defaults to now. */
  at?: Date;
  trigger: CleanupTrigger;
  triggeredBy: string;
  dryRun?: boolean;
  /** What every batch must hold to commit: the scheduler's run lease. None for a run on its own. */
  fence?: WriteFence;
  /**
   * Told how far the run has got after each batch: messages deleted out of the total counted at the
   * start (what the preview counts). Counting costs one query, so only a caller that shows progress asks.
   */
  progress?: (p: { done: number; total?: number; unit: string }) => void;
  /** Test hook: called after each committed batch (e.g. to simulate a crash after batch k). */
  afterBatch?: (batch: number, report: CleanupReport) => void | Promise<void>;
}

const PROGRESS_EVERY_MS = 5000;

/** ", about 40 s left" from the rate so far; nothing until there is a rate to go by. */
function eta(done: number, total: number | undefined, elapsedMs: number): string {
  if (!total || done <= 0 || done >= total) return '';
  const left = ((total - done) * elapsedMs) / done / 1000;
  return `, about ${left < 90 ? `${Math.ceil(left)} s` : `${Math.ceil(left / 60)} min`} left`;
}
/** A running report whose heartbeat is older than this belongs to a process that died. */
const ABANDONED_AFTER_MS = 10 * 60_000;

@Injectable()
export class CleanupService {
  private readonly logger = new Logger(CleanupService.name);

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly appErrors: AppErrors,
    @Inject(RETENTION_STORAGE) private readonly storage: RetentionStorage,
    @InjectMetric(CLEANUP_DELETED) private readonly deletedTotal: Counter<'table'>,
  ) {
    for (const table of ['message', 'conversation']) deletedTotal.inc({ table }, 0);
  }

  /** The plan for a run at `at`: the service retention plus every shorter one guardians chose, holding late data for its notice. */
  async plan(at: Date): Promise<RetentionPlan> {
    const { sql, params } = shorterRetentionsQuery(this.db.kind, this.env.RETENTION_DAYS);
    const rows: { d: number | string }[] = await this.db.dataSource.query(sql, params);
    return retentionPlan(
      at,
      this.env.RETENTION_DAYS,
      rows.map((r) => Number(r.d)),
      this.env.NOTICE_DAYS_BEFORE,
    );
  }

  /**
   * Runs a cleanup: messages due under the plan, then conversations left empty, in batches of
   * CLEANUP_BATCH_SIZE, each batch its own short transaction. A crash between batches leaves a
   * consistent database (every batch is whole or absent); the next run finishes the work, since it
   * deletes by the same predicate.
   */
  async run(options: RunOptions): Promise<CleanupReport> {
    const at = options.at ?? this.clock.now();
    const plan = await this.plan(at);
    const report = await this.open(plan, options);
    return this.execute(plan, report, options);
  }

  /**
   * The cleanup as a scheduler task (CleanupJobs declares when it runs): a run whose report is the
   * task's result, summed up for the run ledger. The cutoff comes from the scheduled time, not the
   * start: a catch-up run deletes exactly what the missed run would have, and never anything younger.
   */
  async runTask(ctx: TaskContext): Promise<TaskOutcome<CleanupReport>> {
    const report = await this.run({
      at: ctx.scheduledFor,
      trigger: ctx.trigger,
      triggeredBy: ctx.triggeredBy,
      dryRun: ctx.dryRun,
      fence: ctx.fence,
      progress: ctx.progress,
    });
    const summary = {
      reportId: report.id,
      dryRun: report.dryRun,
      cutoff: report.cutoff.toISOString(),
      messagesDeleted: report.messagesDeleted,
      conversationsDeleted: report.conversationsDeleted,
      batches: report.batches,
    };
    if (report.status !== 'succeeded')
      return { status: 'failed', error: report.error ?? `cleanup ${report.status}`, summary, result: report };
    return { status: 'succeeded', summary, result: report };
  }

  /** Says how many due messages the run held back for their notice (imported after their family's last one). */
  private async reportHeld(plan: RetentionPlan, report: CleanupReport): Promise<void> {
    const segments = plan.segments.filter((s) => s.heldAfter);
    if (segments.length === 0) return;
    const p = new SqlParams(this.db.kind);
    const held = segments.map((s) => `(${messageDue({ ...s, heldAfter: undefined }, p)} AND ${heldForNotice(s.heldAfter!, p)})`);
    const [row] = await this.db.heavyRead<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM message m WHERE ${held.join(' OR ')}`,
      p.values,
    );
    const n = Number(row.n);
    if (n > 0)
      this.logger.log(
        { reportId: report.id, held: n },
        `${n} due messages held back: they arrived after their family's last notice, which the next notice run tells them of; a cleanup after it deletes them`,
      );
  }

  private async execute(plan: RetentionPlan, report: CleanupReport, options: RunOptions): Promise<CleanupReport> {
    const started = Date.now();
    let lastProgress = started;
    // What is due, counted before the first batch: the progress total, and on SQLite how to walk it.
    const due = !options.dryRun && (options.progress || this.db.kind === 'sqlite') ? await this.storage.survey(plan) : undefined;
    const total = options.progress ? due?.count : undefined;
    const progress = async (force = false) => {
      options.progress?.({ done: report.messagesDeleted, ...(total !== undefined ? { total } : {}), unit: 'messages' });
      if (!force && Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      this.logger.log(
        {
          reportId: report.id,
          messages: report.messagesDeleted,
          conversations: report.conversationsDeleted,
          batches: report.batches,
          ...(total ? { total, percent: Math.min(100, Math.round((report.messagesDeleted / total) * 100)) } : {}),
        },
        `cleanup in progress: ${report.messagesDeleted}${total ? ` of ${total}` : ''} messages, ${report.conversationsDeleted} conversations deleted in ${report.batches} batches${eta(report.messagesDeleted, total, Date.now() - started)}`,
      );
      report.heartbeatAt = this.clock.now();
      await this.save(report);
    };

    try {
      if (options.dryRun) {
        const counts = await this.count(plan);
        report.messagesDeleted = counts.messages;
        report.conversationsDeleted = counts.conversations;
      } else {
        await this.storage.deleteDue(
          plan,
          async (done) => {
            if (done.table === 'partition') {
              // A whole day dropped: its rows count as deleted messages, and the report keeps the day as evidence.
              const { table: _, ...partition } = done;
              report.partitions = [...(report.partitions ?? []), partition];
              report.messagesDeleted += partition.messages;
              this.deletedTotal.inc({ table: 'message' }, partition.messages);
              this.logger.log(
                { reportId: report.id, partition: partition.name, messages: partition.messages, ms: partition.ms },
                `dropped partition ${partition.name} (${partition.from.slice(0, 10)}): ${partition.messages} messages`,
              );
              await progress();
              return;
            }
            const { table, deleted, ms } = done;
            report.maxBatchMs = Math.max(report.maxBatchMs, ms);
            if (deleted === 0) return;
            report.batches += 1;
            if (table === 'message') report.messagesDeleted += deleted;
            else report.conversationsDeleted += deleted;
            this.deletedTotal.inc({ table }, deleted);
            await progress();
            await options.afterBatch?.(report.batches, report);
          },
          options.fence ?? NO_FENCE,
          due,
        );
      }
      report.status = 'succeeded';
      if (!options.dryRun) await this.reportHeld(plan, report);
    } catch (error) {
      if (error instanceof FenceLost) {
        // Not an error of the cleanup's own: its run was taken away (given up, cancelled, timed out).
        // What it deleted stays deleted; the next run deletes the rest by the same predicate.
        report.status = error.outcome;
        report.error = `stopped after ${report.batches} batches (the ${report.messagesDeleted} messages and ${report.conversationsDeleted} conversations deleted stay deleted): ${error.message}`;
        this.logger.warn({ reportId: report.id }, `cleanup ${report.error}`);
      } else {
        report.status = 'failed';
        report.error = error instanceof Error ? error.message : String(error);
        this.appErrors.count('scheduled_cleanup');
        this.logger.error({ reportId: report.id, err: error }, `cleanup failed: ${report.error}`);
      }
    }
    report.finishedAt = this.clock.now();
    report.heartbeatAt = report.finishedAt;
    report.durationMs = Date.now() - started;
    // The evidence of what was deleted must survive a database that is restarting right now (the
    // likely reason the run failed): the final counts are retried until it answers again.
    await persistently(`save the final state of cleanup report ${report.id}`, this.logger, () => this.save(report));
    await this.purgeOldReports().catch((error: unknown) =>
      this.logger.warn({ err: error }, 'could not purge old cleanup reports; the next run will'),
    );
    this.logger.log(
      {
        reportId: report.id,
        status: report.status,
        dryRun: report.dryRun,
        cutoff: plan.cutoff.toISOString(),
        messages: report.messagesDeleted,
        conversations: report.conversationsDeleted,
        batches: report.batches,
        durationMs: report.durationMs,
      },
      `cleanup ${report.status}${report.dryRun ? ' (dry run)' : ''}: ${report.messagesDeleted} messages, ${report.conversationsDeleted} conversations (cutoff ${plan.cutoff.toISOString()}, ${report.durationMs} ms)`,
    );
    return report;
  }

  /** Exactly what a run under this plan deletes, counted, not deleted. */
  async count(plan: RetentionPlan): Promise<{ messages: number; conversations: number }> {
    let conversations = 0;
    const messages = await this.countMessages(plan);
    for (const segment of plan.segments) {
      const q = new SqlParams(this.db.kind);
      const [crow] = await this.db.heavyRead<{ n: unknown }>(
        `SELECT COUNT(*) AS n FROM conversation c WHERE ${conversationDue(plan, segment, q)}`,
        q.values,
      );
      conversations += Number(crow.n);
    }
    return { messages, conversations };
  }

  /** The messages a run under this plan deletes: a progress total (the conversations would cost a scan of their own). */
  async countMessages(plan: RetentionPlan): Promise<number> {
    return (await this.storage.survey(plan)).count;
  }

  private async open(plan: RetentionPlan, options: RunOptions): Promise<CleanupReport> {
    const now = this.clock.now();
    await this.markAbandoned(now);
    const report: CleanupReport = {
      id: randomUUID(),
      scheduledFor: plan.at,
      trigger: options.trigger,
      triggeredBy: options.triggeredBy,
      dryRun: options.dryRun ?? false,
      status: 'running',
      policy: {
        retentionDays: plan.retentionDays,
        shorter: plan.segments.filter((s) => s.after).map((s) => ({ retentionDays: s.retentionDays, cutoff: s.cutoff.toISOString() })),
      },
      cutoff: plan.cutoff,
      messagesDeleted: 0,
      conversationsDeleted: 0,
      batches: 0,
      batchSize: this.env.CLEANUP_BATCH_SIZE,
      maxBatchMs: 0,
      partitions: null,
      startedAt: now,
      heartbeatAt: now,
      finishedAt: null,
      durationMs: null,
      error: null,
    };
    await this.db.transaction((m) => m.insert(CleanupReport, report));
    this.logger.log(
      {
        reportId: report.id,
        trigger: report.trigger,
        triggeredBy: report.triggeredBy,
        at: plan.at.toISOString(),
        cutoff: plan.cutoff.toISOString(),
      },
      `cleanup started (${report.trigger}${report.dryRun ? ', dry run' : ''}) for ${plan.at.toISOString()}: deleting records at or before ${plan.cutoff.toISOString()}`,
    );
    return report;
  }

  private save(report: CleanupReport): Promise<unknown> {
    const { id, ...fields } = report;
    return this.db.transaction((m) => m.update(CleanupReport, { id }, fields));
  }

  /** Reports left "running" by a process that died mid-run say so, instead of running forever. */
  private async markAbandoned(now: Date): Promise<void> {
    const p = new SqlParams(this.db.kind);
    const sql = `UPDATE cleanup_report SET status = 'abandoned', error = 'the process running it stopped before it finished', finished_at = ${p.add(now)}
      WHERE status = 'running' AND heartbeat_at < ${p.add(new Date(now.getTime() - ABANDONED_AFTER_MS))}`;
    const n = (await this.db.write(sql, p.values)).affected;
    if (n > 0) this.logger.warn(`${n} cleanup report(s) marked abandoned: their process stopped mid-run; this run finishes the work`);
  }

  private async purgeOldReports(): Promise<void> {
    const p = new SqlParams(this.db.kind);
    const before = new Date(this.clock.now().getTime() - this.env.CLEANUP_REPORT_RETENTION_DAYS * DAY_MS);
    const n = (await this.db.write(`DELETE FROM cleanup_report WHERE started_at < ${p.add(before)}`, p.values)).affected;
    if (n > 0) this.logger.log(`${n} cleanup report(s) older than ${this.env.CLEANUP_REPORT_RETENTION_DAYS} days purged`);
  }
}

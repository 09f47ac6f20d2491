import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Counter } from 'prom-client';
import { QueryRunner } from 'typeorm';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { execute } from '../database/execute';
import { isForeignKeyViolation } from '../database/errors';
import { persistently } from '../database/retry';
import { SqlParams } from '../database/sql';
import { AppErrors } from '../metrics/app-errors.service';
import { CleanupReport, CleanupTrigger } from './cleanup-report.entity';
import { conversationDue, DAY_MS, messageDue, RetentionPlan, retentionPlan, Segment, shorterRetentionsQuery } from './retention';

export const CLEANUP_DELETED = 'teddy_cleanup_deleted_total';

export interface RunOptions {
  /** The run's scheduled time; the cutoffs are computed from it. Defaults to now. */
  at?: Date;
  trigger: CleanupTrigger;
  triggeredBy: string;
  dryRun?: boolean;
  /** Test hook: called after each committed batch (e.g. to simulate a crash after batch k). */
  afterBatch?: (batch: number, report: CleanupReport) => void | Promise<void>;
}

/** Runs one batch's statements (see CleanupService.withBatchRunner). */
interface Querier {
  query(sql: string, params: unknown[]): Promise<any[]>;
  affected(sql: string, params: unknown[]): Promise<number>;
}
type BatchRunner = <T>(batch: (q: Querier) => Promise<T>) => Promise<T>;

/** Where a keyset walk through conversations stopped. */
interface KeysetPosition {
  startedAt?: unknown;
  id?: string;
}

const PROGRESS_EVERY_MS = 5000;
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
    @InjectMetric(CLEANUP_DELETED) private readonly deletedTotal: Counter<'table'>,
  ) {
    for (const table of ['message', 'conversation']) deletedTotal.inc({ table }, 0);
  }

  /** The plan for a run at `at`: the service retention plus every shorter one guardians chose. */
  async plan(at: Date): Promise<RetentionPlan> {
    const { sql, params } = shorterRetentionsQuery(this.db.kind, this.env.RETENTION_DAYS);
    const rows: { d: number | string }[] = await this.db.dataSource.query(sql, params);
    return retentionPlan(at, this.env.RETENTION_DAYS, rows.map((r) => Number(r.d)));
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

  private async execute(plan: RetentionPlan, report: CleanupReport, options: RunOptions): Promise<CleanupReport> {
    const started = Date.now();
    let lastProgress = started;
    const progress = async (force = false) => {
      if (!force && Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      this.logger.log(
        { reportId: report.id, messages: report.messagesDeleted, conversations: report.conversationsDeleted, batches: report.batches },
        `cleanup in progress: ${report.messagesDeleted} messages, ${report.conversationsDeleted} conversations deleted in ${report.batches} batches`,
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
        await this.withBatchRunner(async (runBatch) => {
          for (const segment of plan.segments) {
            const window: { end?: unknown } = {};
            await this.drain(report, options, 'message', progress, () => runBatch((q) => this.deleteMessageBatch(q, segment, window)));
          }
          for (const segment of plan.segments) {
            const after: KeysetPosition = {};
            await this.drain(report, options, 'conversation', progress, () =>
              runBatch((q) => this.deleteConversationBatch(q, plan, segment, after)),
            );
          }
        });
      }
      report.status = 'succeeded';
    } catch (error) {
      report.status = 'failed';
      report.error = error instanceof Error ? error.message : String(error);
      this.appErrors.count('scheduled_cleanup');
      this.logger.error({ reportId: report.id, err: error }, `cleanup failed: ${report.error}`);
    }
    report.finishedAt = this.clock.now();
    report.heartbeatAt = report.finishedAt;
    report.durationMs = Date.now() - started;
    // The evidence of what was deleted must survive a database that is restarting right now (the
    // likely reason the run failed): the final counts are retried until it answers again.
    await persistently(`save the final state of cleanup report ${report.id}`, this.logger, () => this.save(report));
    await this.purgeOldReports().catch((error: unknown) => this.logger.warn({ err: error }, 'could not purge old cleanup reports; the next run will'));
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

  /**
   * How batches reach the database. PostgreSQL: one connection for the whole run, each batch a
   * single statement that commits on its own, without waiting for the WAL flush (if the server
   * crashes, a batch whose commit had not reached disk is undone whole and the next run deletes
   * those rows again; the flush and the BEGIN/COMMIT round trips were most of a batch's time,
   * bench/cleanup.js). SQLite: each batch one transaction in the write queue.
   */
  private async withBatchRunner(work: (runBatch: BatchRunner) => Promise<void>): Promise<void> {
    const querier = (runner: QueryRunner): Querier => ({
      query: (sql, params) => runner.query(sql, params),
      affected: async (sql, params) => (await execute(runner, sql, params)).affected,
    });
    if (this.db.kind === 'sqlite') {
      return work((batch) => this.db.transaction((m) => batch(querier(m.queryRunner!))));
    }
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SET synchronous_commit = off');
      await work((batch) => batch(querier(runner)));
    } finally {
      await runner.query('RESET synchronous_commit').catch(() => undefined);
      await runner.release();
    }
  }

  /** Runs batches until one says there is no more, yielding to the event loop between them. */
  private async drain(
    report: CleanupReport,
    options: RunOptions,
    table: 'message' | 'conversation',
    progress: () => Promise<void>,
    batch: () => Promise<{ deleted: number; more: boolean }>,
  ): Promise<void> {
    for (;;) {
      const batchStarted = Date.now();
      const { deleted, more } = await this.withRetry(batch);
      report.maxBatchMs = Math.max(report.maxBatchMs, Date.now() - batchStarted);
      if (deleted > 0) {
        report.batches += 1;
        if (table === 'message') report.messagesDeleted += deleted;
        else report.conversationsDeleted += deleted;
        this.deletedTotal.inc({ table }, deleted);
        await options.afterBatch?.(report.batches, report);
        await progress();
      }
      if (!more) return;
      // better-sqlite3 is synchronous: give HTTP requests and other writers a turn between batches.
      await yieldToEventLoop();
    }
  }

  /** A batch that lost a race with a message insert (see deleteConversationBatch) is tried again. */
  private async withRetry<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (attempt >= attempts || !isForeignKeyViolation(error)) throw error;
        this.logger.warn(`a cleanup batch met a message written meanwhile; retrying it (attempt ${attempt + 1})`);
      }
    }
  }

  /** Exactly what a run under this plan deletes, counted, not deleted. */
  async count(plan: RetentionPlan): Promise<{ messages: number; conversations: number }> {
    let messages = 0;
    let conversations = 0;
    for (const segment of plan.segments) {
      const p = new SqlParams(this.db.kind);
      const [row] = await this.db.dataSource.query(`SELECT COUNT(*) AS n FROM message m WHERE ${messageDue(segment, p)}`, p.values);
      messages += Number(row.n);
      const q = new SqlParams(this.db.kind);
      const [crow] = await this.db.dataSource.query(
        `SELECT COUNT(*) AS n FROM conversation c WHERE ${conversationDue(plan, segment, q)}`,
        q.values,
      );
      conversations += Number(crow.n);
    }
    return { messages, conversations };
  }

  // SQLite: a batch deletes by rowid the first CLEANUP_BATCH_SIZE due rows found through the
  // created_at index; SQLite drops index entries at once, so each batch starts right at the rows
  // still due.
  //
  // PostgreSQL keeps a deleted row's index entry until vacuum, so a scan from the start of the
  // range would step over every earlier batch's entries again (the run would grow with the square
  // of its size). A batch is instead a window of the created_at index: from just after the last
  // window's end up to the CLEANUP_BATCH_SIZE-th message, found by an index-only scan; then one
  // range DELETE, a single index pass like a plain DELETE's. Ties at the window's end go with it,
  // so the next window starts strictly after it. No row is read into JS either way.
  private async deleteMessageBatch(q: Querier, segment: Segment, window: { end?: unknown }): Promise<{ deleted: number; more: boolean }> {
    const size = this.env.CLEANUP_BATCH_SIZE;
    const p = new SqlParams(this.db.kind);
    const due = messageDue(segment, p);
    if (this.db.kind === 'sqlite') {
      const deleted = await q.affected(`DELETE FROM message WHERE rowid IN (SELECT m.rowid FROM message m WHERE ${due} LIMIT ${p.add(size)})`, p.values);
      return { deleted, more: deleted === size };
    }
    const w = new SqlParams(this.db.kind);
    const range = (params: SqlParams, alias: string) =>
      window.end === undefined ? '' : ` AND ${alias}created_at > ${params.add(window.end)}::timestamptz`;
    // The window spans every message of the segment's age, whoever's; the DELETE applies the full test.
    const age = `m.created_at <= ${w.add(segment.cutoff)}${segment.after ? ` AND m.created_at > ${w.add(segment.after)}` : ''}`;
    const inRange = `${age}${range(w, 'm.')}`;
    const [end]: { created_at: unknown }[] = await q.query(
      `SELECT m.created_at::text AS created_at FROM message m WHERE ${inRange} ORDER BY m.created_at LIMIT 1 OFFSET ${w.add(size - 1)}`,
      w.values,
    );
    // The window's end travels as text: a JS Date would drop PostgreSQL's microseconds, and a window
    // ending at X.000500 would then be "<= X.000", delete nothing and never move on.
    const upper = end ? ` AND m.created_at <= ${p.add(end.created_at)}::timestamptz` : '';
    const deleted = await q.affected(`DELETE FROM message m WHERE ${due}${range(p, 'm.')}${upper}`, p.values);
    if (!end) return { deleted, more: false };
    window.end = end.created_at;
    return { deleted, more: true };
  }

  /**
   * Conversations are walked once, in (started_at, id) order from where the last batch stopped:
   * most old conversations are not due (they still hold young messages), and starting over each
   * batch would test them again and again. A batch is a window of that order, in which one
   * statement deletes the conversations that are due.
   *
   * A message written into a conversation while it is being deleted must not go with it. The
   * message foreign key is NO ACTION, not CASCADE, for that: on PostgreSQL a message committed after
   * this statement's snapshot makes the statement fail its foreign-key check (which reads the
   * latest data) instead of vanishing, and drain() retries the batch, whose re-test then keeps the
   * conversation. An insert still in flight holds a key-share lock on the conversation, so the
   * delete waits for it and then fails the same way; one that comes after finds the conversation
   * gone and gets a 404. On SQLite the write queue makes each batch the only writer.
   */
  private async deleteConversationBatch(
    q: Querier,
    plan: RetentionPlan,
    segment: Segment,
    after: KeysetPosition,
  ): Promise<{ deleted: number; more: boolean }> {
    // Each conversation delete also runs the message foreign-key check, about 25 µs on PostgreSQL
    // where a message delete costs 2 µs, so a conversation batch is half the size to keep its
    // transaction as short as a message batch (bench/cleanup.js).
    const size = Math.max(1, Math.floor(this.env.CLEANUP_BATCH_SIZE / 2));
    // Window ends travel as text (PostgreSQL's microseconds survive it; see deleteMessageBatch).
    const ts = this.db.kind === 'postgres' ? '::timestamptz' : '';
    const from = (p: SqlParams, c: string) =>
      after.startedAt === undefined ? '' : ` AND (${c}started_at, ${c}id) > (${p.add(after.startedAt)}${ts}, ${p.add(after.id)})`;

    // The window: the next `size` conversations old enough for this segment, due or not. Found by
    // the (started_at, id) index alone; testing emptiness here would let PostgreSQL hash every young
    // message of the table for each batch instead of probing the window's rows.
    const p = new SqlParams(this.db.kind);
    const old = `c.started_at <= ${p.add(segment.cutoff)}`;
    const keyset = from(p, 'c.');
    const [end]: { started_at: unknown; id: string }[] = await q.query(
      `SELECT c.started_at${ts ? '::text' : ''} AS started_at, c.id FROM conversation c WHERE ${old}${keyset} ORDER BY c.started_at, c.id LIMIT 1 OFFSET ${p.add(size - 1)}`,
      p.values,
    );

    const r = new SqlParams(this.db.kind);
    const recheck = conversationDue(plan, segment, r, 'conversation');
    const lower = from(r, '');
    const upper = end ? ` AND (started_at, id) <= (${r.add(end.started_at)}${ts}, ${r.add(end.id)})` : '';
    // Empty now, not only free of young messages: a backdated message imported after the message
    // phase passed its time keeps its conversation until the next run deletes both.
    const emptyNow = ' AND NOT EXISTS (SELECT 1 FROM message my WHERE my.conversation_id = conversation.id)';
    const deleted = await q.affected(`DELETE FROM conversation WHERE ${recheck}${emptyNow}${lower}${upper}`, r.values);
    if (!end) return { deleted, more: false };
    after.startedAt = end.started_at;
    after.id = end.id;
    return { deleted, more: true };
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
      startedAt: now,
      heartbeatAt: now,
      finishedAt: null,
      durationMs: null,
      error: null,
    };
    await this.db.transaction((m) => m.insert(CleanupReport, report));
    this.logger.log(
      { reportId: report.id, trigger: report.trigger, triggeredBy: report.triggeredBy, at: plan.at.toISOString(), cutoff: plan.cutoff.toISOString() },
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

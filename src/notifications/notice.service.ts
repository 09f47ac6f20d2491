import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Counter } from 'prom-client';
import { CleanupCalendar } from '../cleanup/cleanup-calendar';
import { DAY_MS, RetentionPlan, retentionPlan, shorterRetentionsQuery } from '../cleanup/retention';
import { Clock } from '../common/clock';
import { keysetPage, Page } from '../common/cursor';
import { mapWithConcurrency } from '../common/pool';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { isForeignKeyViolation } from '../database/errors';
import { fromSqlBoolean, SqlParams } from '../database/sql';
import { FenceLost, NO_FENCE, throwIfFenced, WriteFence } from '../database/write-fence';
import { AppErrors } from '../metrics/app-errors.service';
import type { Locale } from '../records/guardian.entity';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { configuredChannels } from './channels/channel';
import { DeliveryService, DeliverySummary, NOTICES_TOTAL } from './delivery.service';
import { ExpiringRow, expiringConversations, expiringMessages, Query } from './expiring';
import { ChildCounts, Notice, NoticeStatus } from './notice.entity';

/** Rows per INSERT on SQLite: 10 parameters each stays below its 32,766. */
const SQLITE_CHUNK = 2000;
/** Rows per INSERT on PostgreSQL, where the rows travel as 7 array parameters (no parameter limit). */
const POSTGRES_CHUNK = 5000;
/** Chunks inserted at once on PostgreSQL (each on its own pooled connection). */
const POSTGRES_PARALLEL = 4;
/** How long the manual trigger keeps delivering before it answers; the poller sends the rest. */
const TRIGGER_DELIVERY_BUDGET_MS = 20_000;

/** Told how many of the notices due have been queued (or found queued already), after each chunk. */
export type NoticeProgress = (p: { done: number; total: number; unit: string }) => void;

export interface EnqueueSummary {
  at: string;
  windowUntil: string;
  /** The cleanup runs inside the notice window. */
  cleanupRuns: string[];
  /** Notices due to guardians with notices on (created now or already there). */
  noticesDue: number;
  noticesCreated: number;
  noticesExisting: number;
  /** Guardians with data expiring in the window who turned notices off. */
  skippedGuardians: number;
  durationMs: number;
}

export interface JobSummary extends EnqueueSummary {
  delivery: DeliverySummary;
}

interface Draft {
  guardianId: string;
  cleanupAt: Date;
  locale: Locale;
  children: ChildCounts[];
  messages: number;
  conversations: number;
}

export interface ListNoticesQuery {
  status?: NoticeStatus;
  guardianId?: string;
  limit?: number;
  cursor?: string;
}

type Reader = <T>(q: Query) => Promise<T[]>;

/** Decides who is told what (one notice per guardian per upcoming cleanup run) and puts it in the outbox. */
@Injectable()
export class NoticeService {
  private readonly logger = new Logger(NoticeService.name);
  private readonly channel: string;

  constructor(
    private readonly db: Database,
    private readonly env: Env,
    private readonly clock: Clock,
    private readonly appErrors: AppErrors,
    private readonly delivery: DeliveryService,
    @InjectMetric(NOTICES_TOTAL) private readonly noticesTotal: Counter<'channel' | 'status'>,
  ) {
    this.channel = configuredChannels(env).join(',');
  }

  /**
   * The notice job as a scheduler task (NoticeJobs declares when it runs), summed up for the run ledger.
   * Notices look ahead from when the run actually starts, not from its scheduled time: a late (catch-up)
   * run cannot warn about a cleanup that has already happened, and the notice for each upcoming one was
   * queued by an earlier run inside its window.
   */
  async runTask(ctx: TaskContext): Promise<TaskOutcome<JobSummary>> {
    const job = await this.runJob(this.clock.now(), ctx.cleanups, ctx.fence, ctx.progress);
    const summary = {
      windowUntil: job.windowUntil,
      cleanupRuns: job.cleanupRuns.length,
      noticesDue: job.noticesDue,
      noticesCreated: job.noticesCreated,
      skippedGuardians: job.skippedGuardians,
      sent: job.delivery.sent,
      failed: job.delivery.failed,
      dead: job.delivery.dead,
    };
    return { status: 'succeeded', summary, result: job };
  }

  /** The notice job: enqueue what is due, then a delivery pass. Counted as scheduled_notifications when it fails. */
  async runJob(now: Date, calendar: CleanupCalendar, fence: WriteFence = NO_FENCE, progress?: NoticeProgress): Promise<JobSummary> {
    try {
      const enqueued = await this.enqueue(now, calendar, fence, progress);
      throwIfFenced(fence);
      const delivery = await this.delivery.deliverDue({ budgetMs: TRIGGER_DELIVERY_BUDGET_MS });
      return { ...enqueued, delivery };
    } catch (error) {
      // A run taken away (or shutting down) is not a failure of the notices: the run that took it over enqueues the same.
      if (error instanceof FenceLost) throw error;
      this.appErrors.count('scheduled_notifications');
      this.logger.error({ err: error }, 'notice job failed');
      throw error;
    }
  }

  /**
   * A notice run at `now`: for every cleanup run T of `calendar` in (now, now + NOTICE_DAYS_BEFORE days] and every
   * guardian, what T deletes of their children's data, each record told with the first run that
   * deletes it. Set-based: two grouped queries per run, then multi-row inserts that skip
   * (guardian, T) pairs already notified, so reruns and replicas racing each other add nothing.
   */
  async enqueue(now: Date, calendar: CleanupCalendar, fence: WriteFence = NO_FENCE, progress?: NoticeProgress): Promise<EnqueueSummary> {
    const started = performance.now();
    const until = new Date(now.getTime() + this.env.NOTICE_DAYS_BEFORE * DAY_MS);
    const runs = calendar.between(now, until);

    const drafts: Draft[] = [];
    const skipped = new Set<string>();
    await this.read(async (query) => {
      if (runs.length === 0) return;
      const shorter = await this.shorterRetentions(query);
      const plans = runs.map((at) => retentionPlan(at, this.env.RETENTION_DAYS, shorter));
      for (const [i, plan] of plans.entries()) {
        for (const draft of await this.draftsFor(query, plan, plans[i - 1])) {
          if (draft.enabled) drafts.push(draft.notice);
          else skipped.add(draft.notice.guardianId);
        }
      }
    });
    const created = await this.insert(drafts, now, fence, progress);
    if (created > 0) for (const name of this.channel.split(',')) this.noticesTotal.inc({ channel: name, status: 'pending' }, created);

    const summary: EnqueueSummary = {
      at: now.toISOString(),
      windowUntil: until.toISOString(),
      cleanupRuns: runs.map((r) => r.toISOString()),
      noticesDue: drafts.length,
      noticesCreated: created,
      noticesExisting: drafts.length - created,
      skippedGuardians: skipped.size,
      durationMs: Math.round(performance.now() - started),
    };
    this.logger.log(
      summary,
      `notices enqueued: ${created} new, ${summary.noticesExisting} already there, ${skipped.size} guardians with notices off`,
    );
    return summary;
  }

  /** Notices newest first, without the delivery worker's lease fields. */
  async list(query: ListNoticesQuery): Promise<Page<Omit<Notice, 'claimToken' | 'claimedUntil'>>> {
    const limit = query.limit ?? 50;
    const qb = this.db.dataSource.getRepository(Notice).createQueryBuilder('n');
    if (query.status) qb.andWhere('n.status = :status', { status: query.status });
    if (query.guardianId) qb.andWhere('n.guardian_id = :guardianId', { guardianId: query.guardianId });
    const page = await keysetPage(qb, { at: 'n.created_at', id: 'n.id', order: 'DESC' }, limit, query.cursor, (n) => ({
      at: n.createdAt,
      id: n.id,
    }));
    return { ...page, items: page.items.map(({ claimToken: _token, claimedUntil: _until, ...notice }) => notice) };
  }

  /** The shorter retentions guardians chose: the plan of each run has a segment for each. */
  private async shorterRetentions(query: Reader): Promise<number[]> {
    const rows = await query<{ d: number | string }>(shorterRetentionsQuery(this.db.kind, this.env.RETENTION_DAYS));
    return rows.map((r) => Number(r.d));
  }

  /**
   * The counting queries. On PostgreSQL they share one REPEATABLE READ snapshot, so the runs of a
   * window see the same data, and run without JIT: compiling these one-off scans cost more than
   * running them (0.75 s of 1.3 s at 100,000 guardians). On SQLite, reads take no lock worth sharing,
   * and they run on the worker thread: scans over every guardian's messages would stall the event loop.
   */
  private async read(work: (query: Reader) => Promise<void>): Promise<void> {
    if (this.db.kind !== 'postgres') return work((q) => this.db.heavyRead(q.sql, q.params));
    await this.db.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET LOCAL jit = off');
      await work((q) => m.query(q.sql, q.params));
    });
  }

  /** One draft notice per guardian with something deleted by `plan`'s run and not by `previous`'s. */
  private async draftsFor(run: Reader, plan: RetentionPlan, previous?: RetentionPlan): Promise<{ enabled: boolean; notice: Draft }[]> {
    const messages = await run<ExpiringRow>(expiringMessages(this.db.kind, plan, previous));
    const conversations = await run<ExpiringRow>(expiringConversations(this.db.kind, plan, previous));

    const guardians = new Map<string, { enabled: boolean; locale: Locale; children: Map<string, ChildCounts> }>();
    const add = (rows: ExpiringRow[], field: 'messages' | 'conversations') => {
      for (const row of rows) {
        let guardian = guardians.get(row.guardianId);
        if (!guardian) {
          guardian = { enabled: fromSqlBoolean(row.notificationsEnabled), locale: row.locale as Locale, children: new Map() };
          guardians.set(row.guardianId, guardian);
        }
        let child = guardian.children.get(row.childId);
        if (!child) {
          child = { childId: row.childId, displayName: row.childName, messages: 0, conversations: 0 };
          guardian.children.set(row.childId, child);
        }
        child[field] += Number(row.n);
      }
    };
    add(messages, 'messages');
    add(conversations, 'conversations');

    return [...guardians].map(([guardianId, g]) => {
      const children = [...g.children.values()].sort(
        (a, b) => a.displayName.localeCompare(b.displayName) || a.childId.localeCompare(b.childId),
      );
      return {
        enabled: g.enabled,
        notice: {
          guardianId,
          cleanupAt: plan.at,
          locale: g.locale,
          children,
          messages: children.reduce((n, c) => n + c.messages, 0),
          conversations: children.reduce((n, c) => n + c.conversations, 0),
        },
      };
    });
  }

  /**
   * Inserts the drafts, skipping any (guardian, cleanup run) that already has a notice. Returns how
   * many were new. Each chunk is its own short transaction, which is safe because a chunk that
   * never happened is simply inserted by the next run. Every chunk, and every row within it, goes
   * in one global order (run, guardian): a replica inserting the same keys then waits on the other
   * (always for a key above all it holds) and never deadlocks, even with chunks in parallel.
   */
  private async insert(drafts: Draft[], now: Date, fence: WriteFence, progress?: NoticeProgress): Promise<number> {
    drafts.sort(
      (a, b) => a.cleanupAt.getTime() - b.cleanupAt.getTime() || (a.guardianId < b.guardianId ? -1 : a.guardianId > b.guardianId ? 1 : 0),
    );
    const postgres = this.db.kind === 'postgres';
    const size = postgres ? POSTGRES_CHUNK : SQLITE_CHUNK;
    const chunks: Draft[][] = [];
    for (let start = 0; start < drafts.length; start += size) chunks.push(drafts.slice(start, start + size));

    let created = 0;
    let looked = 0;
    const insertOne = async (chunk: Draft[]) => {
      let n: number;
      try {
        throwIfFenced(fence);
        n = await this.insertChunk(chunk, now, fence);
      } catch (error) {
        if (!isForeignKeyViolation(error)) throw error;
        // A guardian was erased since the counts were taken: their notice has no one left to tell.
        n = await this.insertChunk(await this.stillThere(chunk), now, fence);
      }
      // Not `created += await ...`: that reads `created` before the await and loses parallel chunks' counts.
      created += n;
      // Nothing new: all there already (a rerun), or the fence held the rows back.
      if (n === 0 && chunk.length > 0) await fence.check();
      looked += chunk.length;
      progress?.({ done: looked, total: drafts.length, unit: 'notices due' });
    };
    // SQLite has one writer: chunks go one by one, yielding in between (better-sqlite3 is synchronous).
    const parallel = postgres ? Math.max(1, Math.min(POSTGRES_PARALLEL, this.env.DB_POOL_SIZE - 1)) : 1;
    await mapWithConcurrency(chunks, parallel, async (chunk) => {
      await insertOne(chunk);
      if (!postgres) await yieldToEventLoop();
    });
    return created;
  }

  private insertChunk(chunk: Draft[], now: Date, fence: WriteFence): Promise<number> {
    if (chunk.length === 0) return Promise.resolve(0);
    return this.db.kind === 'postgres' ? this.insertChunkPostgres(chunk, now, fence) : this.insertChunkSqlite(chunk, now, fence);
  }

  // Both inserts SELECT their rows so that the fence's condition can stand in their WHERE: the check and
  // the insert are one statement. (On SQLite the WHERE also tells the parser where ON CONFLICT begins.)
  private async insertChunkSqlite(chunk: Draft[], now: Date, fence: WriteFence): Promise<number> {
    const p = new SqlParams(this.db.kind);
    const values = chunk
      .map(
        (d) =>
          `(${p.add(randomUUID())}, ${p.add(d.guardianId)}, ${p.add(d.cleanupAt)}, ${p.add(d.locale)}, ${p.add(this.channel)}, '', 'pending', 0, ${p.add(now)}, ${p.add(JSON.stringify(d.children))}, ${p.add(d.messages)}, ${p.add(d.conversations)}, ${p.add(now)})`,
      )
      .join(',\n');
    const sql = `INSERT INTO notice (id, guardian_id, cleanup_at, locale, channel, delivered_channels, status, attempts, next_attempt_at, children, messages, conversations, created_at)
SELECT * FROM (VALUES ${values}) WHERE ${fence.condition(p)}
ON CONFLICT (guardian_id, cleanup_at) DO NOTHING
RETURNING id`;
    return (await this.db.write(sql, p.values)).records.length;
  }

  /** The rows as column arrays through unnest(): half the time of a VALUES list, with no parameter limit. */
  private async insertChunkPostgres(chunk: Draft[], now: Date, fence: WriteFence): Promise<number> {
    const p = new SqlParams(this.db.kind);
    const ids = p.add(chunk.map(() => randomUUID()));
    const guardians = p.add(chunk.map((d) => d.guardianId));
    const cleanupAts = p.add(chunk.map((d) => d.cleanupAt.toISOString()));
    const locales = p.add(chunk.map((d) => d.locale));
    const children = p.add(chunk.map((d) => JSON.stringify(d.children)));
    const messages = p.add(chunk.map((d) => d.messages));
    const conversations = p.add(chunk.map((d) => d.conversations));
    const channel = p.add(this.channel);
    const at = p.add(now);
    const sql = `INSERT INTO notice (id, guardian_id, cleanup_at, locale, channel, delivered_channels, status, attempts, next_attempt_at, children, messages, conversations, created_at)
SELECT r.id, r.guardian_id, r.cleanup_at, r.locale, ${channel}, '', 'pending', 0, ${at}, r.children, r.messages, r.conversations, ${at}
  FROM unnest(${ids}::uuid[], ${guardians}::uuid[], ${cleanupAts}::timestamptz[], ${locales}::varchar[], ${children}::text[], ${messages}::int[], ${conversations}::int[])
       AS r(id, guardian_id, cleanup_at, locale, children, messages, conversations)
 WHERE ${fence.condition(p)}
ON CONFLICT (guardian_id, cleanup_at) DO NOTHING
RETURNING id`;
    return (await this.db.write(sql, p.values)).records.length;
  }

  private async stillThere(chunk: Draft[]): Promise<Draft[]> {
    const p = new SqlParams(this.db.kind);
    const ids = [...new Set(chunk.map((d) => d.guardianId))];
    const rows: { id: string }[] = await this.db.dataSource.query(
      `SELECT id FROM guardian WHERE id IN (${ids.map((id) => p.add(id)).join(', ')})`,
      p.values,
    );
    const present = new Set(rows.map((r) => r.id));
    return chunk.filter((d) => present.has(d.guardianId));
  }
}

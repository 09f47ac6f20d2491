import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Counter } from 'prom-client';
import { DAY_MS, shorterRetentionsQuery } from '../cleanup/retention';
import { Clock } from '../common/clock';
import { FireCalendar } from '../common/cron/fire-calendar';
import { keysetPage, Page } from '../common/cursor';
import { mapWithConcurrency } from '../common/pool';
import { Env, schedulerTimezone } from '../config/env.validation';
import { Database } from '../database/database.service';
import { isForeignKeyViolation } from '../database/errors';
import { execute } from '../database/execute';
import { fromSqlBoolean, fromSqlTimestamp, SqlParams, sqlTimestamp } from '../database/sql';
import { FenceLost, NO_FENCE, throwIfFenced, WriteFence } from '../database/write-fence';
import { AppErrors } from '../metrics/app-errors.service';
import type { Locale, NoticeFrequency } from '../records/guardian.entity';
import type { TaskContext, TaskOutcome } from '../scheduler/task-contract';
import { configuredChannels } from './channels/channel';
import { DeliveryService, DeliverySummary, NOTICES_TOTAL } from './delivery.service';
import { DigestPlan, localDate } from './digest';
import {
  bucketFirst,
  ClassBounds,
  DigestBucket,
  DigestRow,
  digestRows,
  DigestScope,
  dueGuardians,
  DueGuardianRow,
  Query,
} from './digest-queries';
import { ChildCounts, Notice, NoticeGroup, NoticeStatus } from './notice.entity';

/** Guardians per transaction that moves their coverage and inserts their notices (SQLite: 17 parameters a row, under its 32,766). */
const CHUNK = { postgres: 2000, sqlite: 1500 } as const;
/** Chunks written at once on PostgreSQL (each on its own pooled connection). */
const POSTGRES_PARALLEL = 4;
/** How long the manual trigger keeps delivering before it answers; the poller sends the rest. */
const TRIGGER_DELIVERY_BUDGET_MS = 20_000;
/**
 * A run claims every message received up to its start (its coverage's received_until). A message is
 * stamped when the service receives it and becomes visible when its insert commits, a moment later; so
 * the run waits this long (real time) after its start before it reads, and an insert stamped before the
 * start has committed by then. Only an insert slower than this to commit could be claimed unseen.
 */
const SETTLE_MS = 500;

/** Told how many of the notices due have been written (or found taken by another run), after each chunk. */
export type NoticeProgress = (p: { done: number; total: number; unit: string }) => void;

/** What a notice run needs besides the data: when it is, and when the cleanups and the notice runs are. */
export interface NoticeRun {
  now: Date;
  /** The fire it stands for; defaults to now. */
  scheduledFor?: Date;
  cleanups: FireCalendar;
  notices: FireCalendar;
}

export interface EnqueueSummary {
  at: string;
  /** The next notice run, the last chance for what is not told now. */
  nextNoticeAt: string;
  /** Digest notices of this run announce every deletion before this time. */
  windowUntil: string;
  /** Notices owed to guardians with notices on (created now, or by a run that raced this one). */
  noticesDue: number;
  noticesCreated: number;
  noticesExisting: number;
  /** Guardians with notices off and deletions ahead: what they were not told is recorded ('suppressed'). */
  skippedGuardians: number;
  /** Notices created now that announce a deletion less than NOTICE_DAYS_BEFORE ahead (late data, a late run). */
  shortNotices: number;
  durationMs: number;
}

export interface JobSummary extends EnqueueSummary {
  delivery: DeliverySummary;
}

/** A notice row as written (the names of the JSON keys PostgreSQL reads it by). */
interface NoticeRow {
  id: string;
  g: string;
  seq: number;
  at: string | Date;
  until: string | Date;
  locale: Locale;
  status: NoticeStatus;
  groups: NoticeGroup[];
  short: boolean;
  freq: NoticeFrequency;
  zone: string;
  children: ChildCounts[];
  messages: number;
  conversations: number;
}

/** One guardian's notice as drafted, with the coverage it moves: from `revision` (0: none yet) to revision + 1. */
interface Draft {
  guardianId: string;
  revision: number;
  createdUntil: Date;
  status: Extract<NoticeStatus, 'pending' | 'suppressed'>;
  locale: Locale;
  frequency: NoticeFrequency;
  timeZone: string;
  cleanupAt: Date;
  coversUntil: Date;
  shortNotice: boolean;
  groups: NoticeGroup[];
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

/**
 * Decides who is told what, and when (a digest per guardian, see digest.ts), and puts it in the outbox.
 *
 * What a guardian has been told is one row of notice_coverage: every message created at or before
 * created_until and received at or before received_until. A notice moves it, in the same transaction,
 * from the revision the run read to the next (the notice's seq); a run that raced another and lost finds
 * the revision moved and adds nothing. So no message is told twice, by a retry, a catch-up or a replica.
 * A message that arrives later with an old created_at (a backdated import) is outside both watermarks
 * (received after), so it is told by the next notice, flagged late.
 */
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
   * Lead times count from when the run actually starts, not from its scheduled time: a late (catch-up)
   * run cannot warn about a cleanup that has already happened.
   */
  async runTask(ctx: TaskContext): Promise<TaskOutcome<JobSummary>> {
    const run = { now: this.clock.now(), scheduledFor: ctx.scheduledFor, cleanups: ctx.cleanups, notices: ctx.notices };
    const job = await this.runJob(run, ctx.fence, ctx.progress);
    const summary = {
      windowUntil: job.windowUntil,
      noticesDue: job.noticesDue,
      noticesCreated: job.noticesCreated,
      skippedGuardians: job.skippedGuardians,
      shortNotices: job.shortNotices,
      sent: job.delivery.sent,
      failed: job.delivery.failed,
      dead: job.delivery.dead,
    };
    return { status: 'succeeded', summary, result: job };
  }

  /** The notice job: enqueue what is due, then a delivery pass. Counted as scheduled_notifications when it fails. */
  async runJob(run: NoticeRun, fence: WriteFence = NO_FENCE, progress?: NoticeProgress): Promise<JobSummary> {
    try {
      const enqueued = await this.enqueue(run, fence, progress);
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
   * A notice run: finds the guardians who must be told now (something untold is deleted before the next
   * run could still tell it NOTICE_DAYS_BEFORE ahead), drafts each one's notice (every untold deletion
   * within their reach, per child and local date), and writes the notices with their coverage. Reads
   * share one snapshot; the writes go in chunks, each its own transaction, so a crash loses nothing: a
   * chunk not written is drafted again by the next run.
   */
  async enqueue(run: NoticeRun, fence: WriteFence = NO_FENCE, progress?: NoticeProgress): Promise<EnqueueSummary> {
    const started = performance.now();
    const now = run.now;
    const plan = new DigestPlan({
      now,
      scheduledFor: run.scheduledFor ?? now,
      daysBefore: this.env.NOTICE_DAYS_BEFORE,
      digestDays: this.env.NOTICE_DIGEST_DAYS,
      cleanups: run.cleanups,
      notices: run.notices,
    });
    const receivedUntil = now;

    let drafts: Draft[] = [];
    if (!run.cleanups.empty) {
      await sleep(SETTLE_MS);
      await this.read(async (query) => {
        const shorter = (await query<{ d: number | string }>(shorterRetentionsQuery(this.db.kind, this.env.RETENTION_DAYS))).map((r) =>
          Number(r.d),
        );
        const scope: DigestScope = { kind: this.db.kind, retentionDays: this.env.RETENTION_DAYS, shorter, receivedUntil };
        const classes = [this.env.RETENTION_DAYS, ...shorter];
        const boundsBefore = (before: Date): ClassBounds => new Map(classes.map((d) => [d, plan.createdBound(before, d)]));
        const due = await query<DueGuardianRow>(dueGuardians(scope, boundsBefore(plan.mustTellBefore)));
        if (due.length === 0) return;
        const reach = { digest: boundsBefore(plan.reach.digest), each_run: boundsBefore(plan.reach.each_run) };
        // Split created_at where the deletion date changes, in each zone and class among those told.
        const until = new Date(Math.max(plan.reach.digest.getTime(), plan.reach.each_run.getTime()));
        const kinds = new Map(
          due.map((g) => [`${g.retentionDays} ${g.timeZone}`, { days: Number(g.retentionDays), zone: this.zoneOf(g.timeZone) }]),
        );
        const bounds = new Set<number>();
        for (const { days, zone } of kinds.values()) for (const b of plan.dateBounds(zone, days, until)) bounds.add(b.getTime());
        const rows = await query<DigestRow>(
          digestRows(
            scope,
            due.map((g) => g.id),
            reach,
            [...bounds].map((b) => new Date(b)),
          ),
        );
        drafts = this.draft(rows, plan, reach);
      });
    }
    const pending = drafts.filter((d) => d.status === 'pending');
    const { created, createdShort } = await this.write(drafts, now, receivedUntil, fence, progress);
    if (created > 0) for (const name of this.channel.split(',')) this.noticesTotal.inc({ channel: name, status: 'pending' }, created);

    const summary: EnqueueSummary = {
      at: now.toISOString(),
      nextNoticeAt: plan.nextNotice.toISOString(),
      windowUntil: plan.reach.digest.toISOString(),
      noticesDue: pending.length,
      noticesCreated: created,
      noticesExisting: pending.length - created,
      skippedGuardians: drafts.length - pending.length,
      shortNotices: createdShort,
      durationMs: Math.round(performance.now() - started),
    };
    this.logger.log(
      summary,
      `notices enqueued: ${created} new (${createdShort} on short notice), ${summary.noticesExisting} made by another run, ${summary.skippedGuardians} guardians with notices off`,
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

  private zoneOf(timeZone: string | null): string {
    return timeZone ?? schedulerTimezone(this.env);
  }

  /**
   * The counting queries. On PostgreSQL they share one REPEATABLE READ snapshot, so the guardians found
   * due and their rows agree, and run without JIT: compiling these one-off scans cost more than running
   * them. On SQLite they run on the worker thread: scans over every guardian's messages would stall the
   * event loop.
   */
  private async read(work: (query: Reader) => Promise<void>): Promise<void> {
    if (this.db.kind !== 'postgres') return work((q) => this.db.heavyRead(q.sql, q.params));
    await this.db.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET LOCAL jit = off');
      await work((q) => m.query(q.sql, q.params));
    });
  }

  /** One draft per guardian: their rows grouped per child and local deletion date, late data apart. */
  private draft(rows: DigestRow[], plan: DigestPlan, reach: Record<NoticeFrequency, ClassBounds>): Draft[] {
    const byGuardian = new Map<string, { draft: Draft; groups: Map<string, NoticeGroup> }>();
    // Rows share a few expiry times and dates (a day's worth each): each is looked up once, per zone.
    const deletions = new Map<string, Map<number, { at: string; date: string } | null>>();
    const deletionOf = (expiresAt: number, zone: string) => {
      let inZone = deletions.get(zone);
      if (!inZone) deletions.set(zone, (inZone = new Map()));
      let found = inZone.get(expiresAt);
      if (found === undefined) {
        const at = plan.deletionOf(new Date(expiresAt));
        inZone.set(expiresAt, (found = at ? { at: at.toISOString(), date: localDate(at, zone) } : null));
      }
      return found;
    };
    for (const row of rows) {
      const days = Number(row.retentionDays);
      let entry = byGuardian.get(row.guardianId);
      if (!entry) {
        const frequency: NoticeFrequency = row.frequency === 'each_run' ? 'each_run' : 'digest';
        const old = fromSqlTimestamp(row.createdUntil);
        const reached = reach[frequency].get(days);
        // Never back: a longer retention than before makes the new reach fall short of the old one.
        const createdUntil = [old, reached].filter((d): d is Date => d !== undefined).reduce((a, b) => (a > b ? a : b), new Date(0));
        entry = {
          groups: new Map(),
          draft: {
            guardianId: row.guardianId,
            revision: row.revision === null ? 0 : Number(row.revision),
            createdUntil,
            status: fromSqlBoolean(row.enabled) ? 'pending' : 'suppressed',
            locale: row.locale as Locale,
            frequency,
            timeZone: this.zoneOf(row.timeZone),
            cleanupAt: new Date(0),
            coversUntil: plan.reach[frequency],
            shortNotice: false,
            groups: [],
            children: [],
            messages: 0,
            conversations: 0,
          },
        };
        byGuardian.set(row.guardianId, entry);
      }
      const buckets: DigestBucket[] = typeof row.buckets === 'string' ? JSON.parse(row.buckets) : row.buckets;
      for (const [lateFlag, n, conversations, firstAt] of buckets) {
        const deletion = deletionOf(bucketFirst(firstAt) + days * DAY_MS, entry.draft.timeZone);
        if (!deletion) continue;
        const late = Number(lateFlag) === 1;
        const key = `${row.childId} ${deletion.date} ${late}`;
        let group = entry.groups.get(key);
        if (!group) {
          group = {
            childId: row.childId,
            displayName: row.childName,
            date: deletion.date,
            deleteAt: deletion.at,
            messages: 0,
            conversations: 0,
            late,
          };
          entry.groups.set(key, group);
        }
        if (deletion.at < group.deleteAt) group.deleteAt = deletion.at;
        group.messages += Number(n);
        group.conversations += Number(conversations);
      }
    }

    // A guardian none of whose rows has a cleanup to go by (none within a year) has nothing to be told.
    return [...byGuardian.values()]
      .filter(({ groups }) => groups.size > 0)
      .map(({ draft, groups }) => {
        draft.groups = [...groups.values()].sort(
          (a, b) =>
            (a.date < b.date ? -1 : a.date > b.date ? 1 : 0) ||
            a.displayName.localeCompare(b.displayName) ||
            a.childId.localeCompare(b.childId) ||
            +a.late - +b.late,
        );
        const children = new Map<string, ChildCounts>();
        for (const g of draft.groups) {
          const child = children.get(g.childId) ?? { childId: g.childId, displayName: g.displayName, messages: 0, conversations: 0 };
          child.messages += g.messages;
          child.conversations += g.conversations;
          children.set(g.childId, child);
        }
        draft.children = [...children.values()].sort(
          (a, b) => a.displayName.localeCompare(b.displayName) || a.childId.localeCompare(b.childId),
        );
        draft.messages = draft.groups.reduce((n, g) => n + g.messages, 0);
        draft.conversations = draft.groups.reduce((n, g) => n + g.conversations, 0);
        draft.cleanupAt = new Date(draft.groups.map((g) => g.deleteAt).reduce((a, b) => (a < b ? a : b)));
        draft.shortNotice = plan.isShortNotice(draft.cleanupAt);
        return draft;
      });
  }

  /**
   * Writes the drafts in chunks of guardians, each chunk one transaction: first the coverage of each
   * guardian moves from the revision this run read (or is created, if they had none), then a notice is
   * inserted for each guardian whose coverage moved, numbered with the new revision. A guardian whose
   * revision another run moved meanwhile gets nothing from this one: that run told them (what is left
   * untold, the next run finds). Chunks go in guardian order, so racing runs never deadlock.
   */
  private async write(
    drafts: Draft[],
    now: Date,
    receivedUntil: Date,
    fence: WriteFence,
    progress?: NoticeProgress,
  ): Promise<{ created: number; createdShort: number }> {
    drafts.sort((a, b) => (a.guardianId < b.guardianId ? -1 : a.guardianId > b.guardianId ? 1 : 0));
    const chunks: Draft[][] = [];
    const size = CHUNK[this.db.kind];
    for (let start = 0; start < drafts.length; start += size) chunks.push(drafts.slice(start, start + size));
    let created = 0;
    let createdShort = 0;
    let looked = 0;
    const writeOne = async (chunk: Draft[]) => {
      let written: Draft[];
      try {
        throwIfFenced(fence);
        written = await this.writeChunk(chunk, now, receivedUntil, fence);
      } catch (error) {
        if (!isForeignKeyViolation(error)) throw error;
        // A guardian was erased since the rows were read: there is no one left to tell.
        written = await this.writeChunk(await this.stillThere(chunk), now, receivedUntil, fence);
      }
      const told = written.filter((d) => d.status === 'pending');
      // Not `created += await ...`: that reads `created` before the await and loses parallel chunks' counts.
      created += told.length;
      createdShort += told.filter((d) => d.shortNotice).length;
      // Nothing written: all taken by another run, or the fence held the rows back.
      if (written.length === 0 && chunk.length > 0) await fence.check();
      looked += chunk.length;
      progress?.({ done: looked, total: drafts.length, unit: 'notices due' });
    };
    const postgres = this.db.kind === 'postgres';
    // SQLite has one writer: chunks go one by one, yielding in between (better-sqlite3 is synchronous).
    const parallel = postgres ? Math.max(1, Math.min(POSTGRES_PARALLEL, this.env.DB_POOL_SIZE - 1)) : 1;
    await mapWithConcurrency(chunks, parallel, async (chunk) => {
      await writeOne(chunk);
      if (!postgres) await yieldToEventLoop();
    });
    return { created, createdShort };
  }

  /** One chunk's coverage moves and notices, in one transaction; answers the drafts that were written. */
  private writeChunk(chunk: Draft[], now: Date, receivedUntil: Date, fence: WriteFence): Promise<Draft[]> {
    if (chunk.length === 0) return Promise.resolve([]);
    const kind = this.db.kind;
    const stamp = (at: Date) => (kind === 'postgres' ? at.toISOString() : sqlTimestamp(kind, at));
    return this.db.transaction(async (m) => {
      const moves = JSON.stringify(chunk.map((d) => ({ g: d.guardianId, r: d.revision, c: stamp(d.createdUntil) })));
      const moved = new Set<string>();
      for (const sql of this.coverageStatements(fence)) {
        const p = new SqlParams(kind);
        const text = sql(p, moves, receivedUntil, now);
        for (const row of (await execute<{ guardian_id: string }>(m, text, p.values)).records) moved.add(String(row.guardian_id));
      }
      const written = chunk.filter((d) => moved.has(d.guardianId));
      if (written.length === 0) return [];
      const p = new SqlParams(kind);
      const rows: NoticeRow[] = written.map((d) => ({
        id: randomUUID(),
        g: d.guardianId,
        seq: d.revision + 1,
        at: stamp(d.cleanupAt),
        until: stamp(d.coversUntil),
        locale: d.locale,
        status: d.status,
        groups: d.groups,
        short: d.shortNotice,
        freq: d.frequency,
        zone: d.timeZone,
        children: d.children,
        messages: d.messages,
        conversations: d.conversations,
      }));
      await execute(m, this.insertNotices(p, rows, now), p.values);
      return written;
    });
  }

  /**
   * The coverage moves, as statements over a JSON array of { g: guardian, r: revision read, c: new
   * created_until }: an UPDATE where the revision is still the one read, and an INSERT for guardians
   * that had none (a racing insert wins, ON CONFLICT DO NOTHING). Both answer the guardians moved, and
   * both hold the run's fence in their WHERE.
   */
  private coverageStatements(fence: WriteFence): ((p: SqlParams, moves: string, receivedUntil: Date, now: Date) => string)[] {
    if (this.db.kind === 'postgres') {
      const moves = (p: SqlParams, json: string) => `jsonb_to_recordset(${p.add(json)}::jsonb) AS d(g uuid, r int, c timestamptz)`;
      return [
        (p, json, receivedUntil, now) => `UPDATE notice_coverage nc
   SET created_until = d.c, received_until = ${p.add(receivedUntil)}, revision = nc.revision + 1, updated_at = ${p.add(now)}
  FROM ${moves(p, json)}
 WHERE nc.guardian_id = d.g AND nc.revision = d.r AND ${fence.condition(p)}
RETURNING nc.guardian_id`,
        (p, json, receivedUntil, now) => `INSERT INTO notice_coverage (guardian_id, created_until, received_until, revision, updated_at)
SELECT d.g, d.c, ${p.add(receivedUntil)}, 1, ${p.add(now)} FROM ${moves(p, json)}
 WHERE d.r = 0 AND ${fence.condition(p)}
ON CONFLICT (guardian_id) DO NOTHING
RETURNING guardian_id`,
      ];
    }
    const moves = (p: SqlParams, json: string) =>
      `(SELECT json_extract(value, '$.g') AS g, json_extract(value, '$.r') AS r, json_extract(value, '$.c') AS c FROM json_each(${p.add(json)}))`;
    return [
      (p, json, receivedUntil, now) => `UPDATE notice_coverage
   SET created_until = d.c, received_until = ${p.add(receivedUntil)}, revision = notice_coverage.revision + 1, updated_at = ${p.add(now)}
  FROM ${moves(p, json)} AS d
 WHERE notice_coverage.guardian_id = d.g AND notice_coverage.revision = d.r AND ${fence.condition(p)}
RETURNING guardian_id`,
      (p, json, receivedUntil, now) => `INSERT INTO notice_coverage (guardian_id, created_until, received_until, revision, updated_at)
SELECT d.g, d.c, ${p.add(receivedUntil)}, 1, ${p.add(now)} FROM ${moves(p, json)} AS d
 WHERE d.r = 0 AND ${fence.condition(p)}
ON CONFLICT (guardian_id) DO NOTHING
RETURNING guardian_id`,
    ];
  }

  /**
   * The notices of the guardians whose coverage moved; unique on (guardian, seq). PostgreSQL takes the rows
   * as one JSON array (groups and children stored as their JSON text, not encoded twice); SQLite as
   * parameters of a VALUES list (17 a row, see CHUNK), since json_extract
   * would parse each row's whole JSON once per column.
   */
  private insertNotices(p: SqlParams, rows: NoticeRow[], now: Date): string {
    const columns = `INSERT INTO notice (id, guardian_id, seq, cleanup_at, covers_until, locale, channel, delivered_channels, status, attempts,
                    next_attempt_at, groups, short_notice, frequency, time_zone, children, messages, conversations, created_at)`;
    if (this.db.kind === 'postgres') {
      const channel = p.add(this.channel);
      const at = p.add(now);
      return `${columns}
SELECT d.id, d.g, d.seq, d.at, d.until, d.locale, ${channel}, '', d.status, 0, ${at}, d.groups, d.short, d.freq, d.zone, d.children, d.messages, d.conversations, ${at}
  FROM jsonb_to_recordset(${p.add(JSON.stringify(rows))}::jsonb) AS d(id uuid, g uuid, seq int, at timestamptz, until timestamptz, locale varchar,
       status varchar, groups text, short boolean, freq varchar, zone varchar, children text, messages int, conversations int)`;
    }
    const values = rows.map(
      (r) =>
        `(${[r.id, r.g, r.seq, r.at, r.until, r.locale].map((v) => p.add(v)).join(', ')}, ${p.add(this.channel)}, '', ${p.add(r.status)}, 0, ` +
        `${p.add(now)}, ${[
          JSON.stringify(r.groups),
          r.short ? 1 : 0,
          r.freq,
          r.zone,
          JSON.stringify(r.children),
          r.messages,
          r.conversations,
          now,
        ]
          .map((v) => p.add(v))
          .join(', ')})`,
    );
    return `${columns} VALUES ${values.join(',\n')}`;
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

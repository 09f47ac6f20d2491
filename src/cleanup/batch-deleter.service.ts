import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Env } from '../config/env.validation';
import { Database, Statements, statementsOf } from '../database/database.service';
import { isForeignKeyViolation } from '../database/errors';
import { SqlParams } from '../database/sql';
import { throwIfFenced, WriteFence } from '../database/write-fence';
import { conversationClass, conversationDue, messageDue, planMessageDue, RetentionPlan, Segment } from './retention';

export type DeletedTable = 'message' | 'conversation';

/** One batch's outcome (`deleted` may be 0: the last batch of a table often finds nothing). */
export interface BatchDone {
  table: DeletedTable;
  deleted: number;
  ms: number;
}

/**
 * The messages a run under a plan deletes, counted before it starts (a progress total) and, on
 * SQLite, the span of rowids they lie in (how the run walks them; see deleteDue).
 */
export interface DueMessages {
  count: number;
  rowids?: { first: number; last: number };
}

/** PostgreSQL: `work`'s statements on q as one transaction (q's statements otherwise commit one by one). */
async function inTransaction<T>(q: Statements, work: () => Promise<T>): Promise<T> {
  await q.query('BEGIN', []);
  try {
    const result = await work();
    await q.query('COMMIT', []);
    return result;
  } catch (error) {
    await q.query('ROLLBACK', []).catch(() => undefined);
    throw error;
  }
}

/** Runs one batch's statements (see BatchDeleter.withBatchRunner). */
type BatchRunner = <T>(batch: (q: Statements) => Promise<T>) => Promise<T>;

/** Where a keyset walk through conversations stopped. */
interface KeysetPosition {
  startedAt?: unknown;
  id?: string;
}

/** Where a walk through the message table in storage order stopped, and how wide its windows are. */
interface RowidWalk {
  next: number;
  last: number;
  width: number;
}

/**
 * SQLite: walk the table in storage order (rowid windows) rather than the created_at index when at
 * least this share of the rows between the first and the last due one is due. After a backdated
 * import created_at is unrelated to storage order, and a created_at-ordered batch then touches a
 * different table page for nearly every row it deletes (each page copied whole into the WAL);
 * a rowid window touches each table page once, whatever the layout. It is faster on the usual,
 * chronological layout too (bench/cleanup.js: 1.08x the raw DELETE against 1.31x). The threshold is a
 * judgment, not a measurement: below it the walk would read over five rows for each it deletes.
 */
const ROWID_WALK_MIN_SHARE = 0.2;

/**
 * SQLite: how long a cleanup leaves the file's write lock free between two batches while another
 * process writes too (Database.contended: this one had to wait for the lock lately). That process's
 * writers (the service, while the command line cleans up) poll for the lock every millisecond and
 * would otherwise hardly ever find it free. This process's own writers need no gap: they take their
 * turn in the write queue. Alone, the gap would cost about a quarter of the run (bench/cleanup.js).
 */
const SQLITE_BATCH_GAP_MS = 2;

/**
 * The deleting half of a cleanup run: the rows a plan makes due, in batches of CLEANUP_BATCH_SIZE,
 * each batch its own short transaction, written for each database's way of deleting fast. What the
 * run reports and counts is CleanupService's.
 */
@Injectable()
export class BatchDeleter {
  private readonly logger = new Logger(BatchDeleter.name);

  constructor(
    private readonly db: Database,
    private readonly env: Env,
  ) {}

  /**
   * Messages due under the plan, then the conversations left empty, segment by segment. `onBatch`
   * runs after each committed batch. Every DELETE carries the fence's condition, and a batch that
   * deleted nothing asks the fence whether it was the reason: a run that lost its lease stops with
   * FenceLost instead of walking on through batches that can no longer delete anything. `due` is
   * what survey() found, if the caller asked it already.
   */
  async deleteDue(plan: RetentionPlan, onBatch: (batch: BatchDone) => Promise<void>, fence: WriteFence, due?: DueMessages): Promise<void> {
    const walk = this.db.kind === 'sqlite' ? this.rowidWalk(due ?? (await this.survey(plan))) : undefined;
    await this.withBatchRunner(async (runBatch) => {
      if (walk) {
        this.logger.log(`deleting messages in storage order: rowids ${walk.next} to ${walk.last}, ${walk.width} per batch`);
        await this.drain('message', fence, onBatch, () => runBatch((q) => this.deleteRowidWindow(q, plan, walk, fence)));
      } else {
        for (const segment of plan.segments) {
          const window: { end?: unknown } = {};
          await this.drain('message', fence, onBatch, () => runBatch((q) => this.deleteMessageBatch(q, segment, window, fence)));
        }
      }
      for (const segment of plan.segments) {
        const after: KeysetPosition = {};
        await this.drain('conversation', fence, onBatch, () =>
          runBatch((q) => this.deleteConversationBatch(q, plan, segment, after, fence)),
        );
      }
    });
  }

  /**
   * The messages a run under the plan deletes: counted (on a SQLite file, on the worker thread: a
   * count over a million rows takes over 100 ms) and, on SQLite, where they lie in the table.
   */
  async survey(plan: RetentionPlan): Promise<DueMessages> {
    if (this.db.kind === 'sqlite') {
      const p = new SqlParams(this.db.kind);
      const [row] = await this.db.heavyRead<{ n: number; first: number | null; last: number | null }>(
        `SELECT COUNT(*) AS n, MIN(m.rowid) AS first, MAX(m.rowid) AS last FROM message m WHERE ${planMessageDue(plan, p)}`,
        p.values,
      );
      const count = Number(row.n);
      return count === 0 ? { count } : { count, rowids: { first: Number(row.first), last: Number(row.last) } };
    }
    let count = 0;
    for (const segment of plan.segments) {
      const p = new SqlParams(this.db.kind);
      const [row] = await this.db.heavyRead<{ n: unknown }>(
        `SELECT COUNT(*) AS n FROM message m WHERE ${messageDue(segment, p)}`,
        p.values,
      );
      count += Number(row.n);
    }
    return { count };
  }

  /** The rowid walk for what survey() found, or none when too small a share of its span is due. */
  private rowidWalk(due: DueMessages): RowidWalk | undefined {
    if (!due.rowids) return undefined;
    const span = due.rowids.last - due.rowids.first + 1;
    const share = due.count / span;
    if (share < ROWID_WALK_MIN_SHARE) return undefined;
    // A window holds about CLEANUP_BATCH_SIZE due rows if they are spread evenly over the span.
    return { next: due.rowids.first, last: due.rowids.last, width: Math.ceil(this.env.CLEANUP_BATCH_SIZE / share) };
  }

  /**
   * How batches reach the database. PostgreSQL: one connection for the whole run, each batch a
   * single statement that commits on its own, without waiting for the WAL flush (if the server
   * crashes, a batch whose commit had not reached disk is undone whole and the next run deletes
   * those rows again; the flush and the BEGIN/COMMIT round trips were most of a batch's time,
   * bench/cleanup.js). SQLite: each batch's statements on the worker thread's connection, in the
   * write queue; the DELETE commits on its own (a window's read before it only bounds it, and the
   * DELETE tests everything again).
   */
  private async withBatchRunner(work: (runBatch: BatchRunner) => Promise<void>): Promise<void> {
    if (this.db.kind === 'sqlite') return work((batch) => this.db.offloaded(batch));
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SET synchronous_commit = off');
      await work((batch) => batch(statementsOf(runner)));
    } finally {
      await runner.query('RESET synchronous_commit').catch(() => undefined);
      await runner.release();
    }
  }

  /** Runs batches until one says there is no more, giving other writers a turn between them. */
  private async drain(
    table: DeletedTable,
    fence: WriteFence,
    onBatch: (batch: BatchDone) => Promise<void>,
    batch: () => Promise<{ deleted: number; more: boolean }>,
  ): Promise<void> {
    for (;;) {
      throwIfFenced(fence);
      const started = Date.now();
      const { deleted, more } = await this.withRetry(batch);
      await onBatch({ table, deleted, ms: Date.now() - started });
      if (deleted === 0 || !more) await fence.check();
      if (!more) return;
      if (this.db.kind === 'sqlite' && this.db.contended()) await sleep(SQLITE_BATCH_GAP_MS);
      else await yieldToEventLoop();
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
  private async deleteMessageBatch(
    q: Statements,
    segment: Segment,
    window: { end?: unknown },
    fence: WriteFence,
  ): Promise<{ deleted: number; more: boolean }> {
    const size = this.env.CLEANUP_BATCH_SIZE;
    const p = new SqlParams(this.db.kind);
    const due = messageDue(segment, p);
    if (this.db.kind === 'sqlite') {
      const deleted = await q.affected(
        `DELETE FROM message WHERE rowid IN (SELECT m.rowid FROM message m WHERE ${due} LIMIT ${p.add(size)}) AND ${fence.condition(p)}`,
        p.values,
      );
      return { deleted, more: deleted === size };
    }
    const w = new SqlParams(this.db.kind);
    const range = (params: SqlParams, alias: string) =>
      window.end === undefined ? '' : ` AND ${alias}created_at > ${params.add(window.end)}::timestamptz`;
    // The window spans every message of the segment's age, whoever's; the DELETE applies the full test.
    const age = `m.created_at <= ${w.add(segment.cutoff)}${segment.after ? ` AND m.created_at > ${w.add(segment.after)}` : ''}`;
    const inRange = `${age}${range(w, 'm.')}`;
    const [end] = await q.query<{ created_at: unknown }>(
      `SELECT m.created_at::text AS created_at FROM message m WHERE ${inRange} ORDER BY m.created_at LIMIT 1 OFFSET ${w.add(size - 1)}`,
      w.values,
    );
    // The window's end travels as text: a JS Date would drop PostgreSQL's microseconds, and a window
    // ending at X.000500 would then be "<= X.000", delete nothing and never move on.
    const upper = end ? ` AND m.created_at <= ${p.add(end.created_at)}::timestamptz` : '';
    const deleted = await q.affected(`DELETE FROM message m WHERE ${due}${range(p, 'm.')}${upper} AND ${fence.condition(p)}`, p.values);
    if (!end) return { deleted, more: false };
    window.end = end.created_at;
    return { deleted, more: true };
  }

  /**
   * One window of the rowid walk: every due message whose rowid lies in it, by the same predicate as
   * any other batch (the cutoff is exact whatever the order). Rows written after the survey lie past
   * its last rowid and are young; a backdated one is the next run's.
   */
  private async deleteRowidWindow(
    q: Statements,
    plan: RetentionPlan,
    walk: RowidWalk,
    fence: WriteFence,
  ): Promise<{ deleted: number; more: boolean }> {
    const p = new SqlParams(this.db.kind);
    const end = Math.min(walk.last, walk.next + walk.width - 1);
    const deleted = await q.affected(
      `DELETE FROM message AS m WHERE m.rowid BETWEEN ${p.add(walk.next)} AND ${p.add(end)} AND (${planMessageDue(plan, p)}) AND ${fence.condition(p)}`,
      p.values,
    );
    walk.next = end + 1;
    return { deleted, more: walk.next <= walk.last };
  }

  /**
   * Conversations are walked once, in (started_at, id) order from where the last batch stopped:
   * most old conversations are not due (they still hold young messages), and starting over each
   * batch would test them again and again. A batch is a window of that order, in which one
   * statement deletes the conversations that are due.
   *
   * A message written into a conversation while it is being deleted must not go with it.
   * - SQLite: each DELETE is one statement, the file's only writer while it runs, and the message
   *   foreign key (NO ACTION) fails a delete that would orphan one; drain() retries the batch.
   * - PostgreSQL: the message table is partitioned and has no foreign key (its check would probe
   *   every partition for each deleted conversation). Row locks keep the race safe instead: the batch
   *   locks the conversations it found empty FOR UPDATE, which waits for every append in flight into
   *   them (an append holds its conversation FOR KEY SHARE until it commits) and holds off the next
   *   ones; then it looks again, in a snapshot taken after the locks, and deletes those still empty.
   *   An append that was waiting then finds its conversation gone and answers 404. One statement
   *   could not do it: its NOT EXISTS would read a snapshot from before the wait
   *   (deleteEmptyConversations).
   */
  private async deleteConversationBatch(
    q: Statements,
    plan: RetentionPlan,
    segment: Segment,
    after: KeysetPosition,
    fence: WriteFence,
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
    const [end] = await q.query<{ started_at: unknown; id: string }>(
      `SELECT c.started_at${ts ? '::text' : ''} AS started_at, c.id FROM conversation c WHERE ${old}${keyset} ORDER BY c.started_at, c.id LIMIT 1 OFFSET ${p.add(size - 1)}`,
      p.values,
    );

    // Parameters are added in the order they appear in the text (SQLite's placeholders are positional).
    const r = new SqlParams(this.db.kind);
    const window = () => `${from(r, '')}${end ? ` AND (started_at, id) <= (${r.add(end.started_at)}${ts}, ${r.add(end.id)})` : ''}`;
    let deleted: number;
    if (this.db.kind === 'sqlite') {
      const recheck = conversationDue(plan, segment, r, 'conversation');
      // Empty now, not only free of young messages: a backdated message imported after the message
      // phase passed its time keeps its conversation until the next run deletes both.
      const emptyNow = ' AND NOT EXISTS (SELECT 1 FROM message my WHERE my.conversation_id = conversation.id)';
      deleted = await q.affected(`DELETE FROM conversation WHERE ${recheck}${emptyNow}${window()} AND ${fence.condition(r)}`, r.values);
    } else {
      deleted = await this.deleteEmptyConversations(
        q,
        `${conversationClass(plan, segment, r, 'conversation')}${window()}`,
        r.values,
        fence,
      );
    }
    if (!end) return { deleted, more: false };
    after.startedAt = end.started_at;
    after.id = end.id;
    return { deleted, more: true };
  }

  /**
   * PostgreSQL: deletes the conversations matching `candidates` that hold no message. On the
   * partitioned table an empty conversation costs a probe per partition's index (39 here after the
   * drops), where the foreign key and NOT EXISTS of the unpartitioned table cost one. The race with
   * appends (see deleteConversationBatch): the empty ones are locked
   * FOR UPDATE, which waits for appends in flight into them; a second look, in a snapshot taken after
   * the locks, drops those an append filled meanwhile; the locks hold off any further append until
   * the delete commits. Only conversations found empty are locked (no lock, no WAL, for the others).
   */
  private async deleteEmptyConversations(q: Statements, candidates: string, params: unknown[], fence: WriteFence): Promise<number> {
    const ids = (await q.query<{ id: string }>(`SELECT id FROM conversation WHERE ${candidates}`, params)).map((c) => c.id);
    const empty = await this.withoutMessages(q, ids);
    if (empty.length === 0) return 0;
    return inTransaction(q, async () => {
      const locked = (await q.query<{ id: string }>(`SELECT id FROM conversation WHERE id = ANY($1::uuid[]) FOR UPDATE`, [empty])).map(
        (c) => c.id,
      );
      const still = await this.withoutMessages(q, locked);
      if (still.length === 0) return 0;
      const d = new SqlParams(this.db.kind);
      return q.affected(`DELETE FROM conversation WHERE id = ANY(${d.add(still)}::uuid[]) AND ${fence.condition(d)}`, d.values);
    });
  }

  /**
   * The ones of `ids` no message points at (PostgreSQL). Each id probes the partitions' indexes in
   * turn and stops at its first message (LIMIT 1 in a lateral join: a NOT EXISTS may be planned as
   * an anti-join hashing every remaining message, 2.5 s a batch at 8M messages). A conversation still
   * in use stops at once; an empty one costs a probe per partition.
   */
  private async withoutMessages(q: Statements, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await q.query<{ id: string }>(
      `SELECT c.id FROM unnest($1::uuid[]) AS c(id)
       LEFT JOIN LATERAL (SELECT 1 AS hit FROM message m WHERE m.conversation_id = c.id LIMIT 1) x ON true WHERE x.hit IS NULL`,
      [ids],
    );
    return rows.map((r) => r.id);
  }
}

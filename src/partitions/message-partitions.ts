import { Injectable, Logger } from '@nestjs/common';
import { Env } from '../config/env.validation';
import { Database, Statements, statementsOf } from '../database/database.service';
import { isLockTimeout } from '../database/errors';
import { PARTITION_LOCK_KEY } from '../database/migrations/1764806400000-partitioned-messages';
import { SqlParams } from '../database/sql';
import { FenceLost, throwIfFenced, WriteFence } from '../database/write-fence';

const DAY_MS = 86_400_000;

/** One UTC day's partition of the message table, [from, to). */
export interface DayPartition {
  name: string;
  from: Date;
  to: Date;
  /** Not attached to message: left detached (or half-detached) by a cleanup that stopped. */
  detached?: boolean;
}

/** An expired day the cleanup could not detach in time, and the transactions open at that moment. */
export interface HeldUp {
  name: string;
  holders: string;
}

/** What the cleanup dropped: a whole day, and the rows it held (the report's evidence). */
export interface DroppedPartition {
  name: string;
  from: string;
  to: string;
  messages: number;
  ms: number;
}

const NAME = /^message_p(\d{4})(\d{2})(\d{2})$/;

/** How many detached days one DROP statement removes at most. */
const DROP_TOGETHER = 16;

/** The day a partition's name stands for (the names ensure_message_partitions gives). */
function dayOf(name: string): { from: Date; to: Date } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const from = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return { from, to: new Date(from.getTime() + DAY_MS) };
}

/** The UTC midnight at or before `at`. */
export function utcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

/** PostgreSQL's answer to an insert whose created_at no partition covers. */
export function isMissingPartition(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  return e?.code === '23514' && /no partition of relation/.test(e.message ?? '');
}

/**
 * The daily partitions of the message table on PostgreSQL: which exist, creating the ones needed
 * (ahead of time, and for a backdated import), and dropping whole expired days for the cleanup.
 * SQLite has one unpartitioned table: `enabled` is false there and nothing here is called.
 */
@Injectable()
export class MessagePartitions {
  private readonly logger = new Logger(MessagePartitions.name);

  constructor(
    private readonly db: Database,
    private readonly env: Env,
  ) {}

  get enabled(): boolean {
    return this.db.kind === 'postgres';
  }

  /** The day partitions attached to message, oldest first; with `detached`, the leftovers too. */
  private async list(q: Statements, options: { detached?: boolean } = {}): Promise<DayPartition[]> {
    // Bounds come from the catalogue, not the name, and are cast in SQL: the text PostgreSQL shows
    // them in depends on the session's time zone. A partition with other bounds (MINVALUE, DEFAULT) is not a day.
    const attached = await q.query<{ name: string; from: Date | null; to: Date | null; pending: boolean }>(
      `SELECT name, b[1]::timestamptz AS "from", b[2]::timestamptz AS "to", pending FROM (
         SELECT c.relname AS name, i.inhdetachpending AS pending,
                regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\) TO \\(''([^'']+)''\\)') AS b
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'message'::regclass) p`,
      [],
    );
    const days: DayPartition[] = attached
      .filter((p) => p.from && p.to)
      .map((p) => ({ name: p.name, from: p.from!, to: p.to!, ...(p.pending ? { detached: true } : {}) }));
    if (options.detached) {
      const loose = await q.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname = current_schema() AND c.relname ~ '^message_p[0-9]{8}$' AND NOT c.relispartition`,
        [],
      );
      for (const { name } of loose) {
        const day = dayOf(name);
        if (day) days.push({ name, ...day, detached: true });
      }
    }
    return days.sort((a, b) => a.from.getTime() - b.from.getTime());
  }

  /** Creates the missing partitions for the UTC days from `from` to `to`; how many it created. */
  async ensure(from: Date, to: Date): Promise<number> {
    const [row] = await this.db.dataSource.query(`SELECT ensure_message_partitions($1, $2) AS n`, [from, to]);
    const created = Number(row.n);
    if (created > 0)
      this.logger.log(`created ${created} message partition(s) for ${from.toISOString().slice(0, 10)} to ${to.toISOString().slice(0, 10)}`);
    return created;
  }

  /** The partitions an insert of rows created at `times` needs, one call per distinct day. */
  async ensureFor(times: Date[]): Promise<number> {
    const days = [...new Set(times.map((t) => utcDay(t).getTime()))].sort((a, b) => a - b);
    let created = 0;
    for (const day of days) created += await this.ensure(new Date(day), new Date(day));
    return created;
  }

  /** Yesterday to PARTITION_PREMAKE_DAYS ahead of `now` (the maintenance job). */
  async ensureAhead(now: Date): Promise<{ created: number; through: Date }> {
    const through = utcDay(new Date(now.getTime() + this.env.PARTITION_PREMAKE_DAYS * DAY_MS));
    const created = await this.ensure(new Date(utcDay(now).getTime() - DAY_MS), through);
    return { created, through };
  }

  /**
   * Drops every partition whose whole day is at or before `cutoff` (each of its rows is due), oldest
   * first, and any a stopped run left detached; `onDropped` after each. A partition is detached
   * CONCURRENTLY (readers and writers of message go on; it waits for the queries that still see the
   * partition), counted, and dropped: never detached and kept. The fence is checked before each
   * partition; one whose detach began is dropped whatever happens to the fence, since each of its rows
   * is due at this run's cutoff. The day's advisory lock keeps an importer from re-creating the day
   * until the drop is done.
   */
  async dropExpired(
    cutoff: Date,
    fence: WriteFence,
    onDropped: (dropped: DroppedPartition) => Promise<void>,
    /** A condition on message rows (alias m) that keeps the partition of any row meeting it: left to the row deletes. */
    keepIf?: (p: SqlParams) => string,
  ): Promise<HeldUp[]> {
    const runner = this.db.dataSource.createQueryRunner();
    await runner.connect();
    const q = statementsOf(runner);
    const heldUp: HeldUp[] = [];
    // Detached and counted, waiting to be dropped together: one DROP of many tables scans the shared
    // buffers once, where a DROP each scans them each time (23 ms a day at 2M messages, bench/partitions.js).
    // Each keeps its day's advisory lock until it is gone.
    const detached: { partition: DayPartition; day: number; messages: number; ms: number }[] = [];
    const dropDetached = async () => {
      if (detached.length === 0) return;
      const started = Date.now();
      await q.query(`DROP TABLE ${detached.map((d) => `"${d.partition.name}"`).join(', ')}`, []);
      const share = Math.round((Date.now() - started) / detached.length);
      for (const { partition, day, messages, ms } of detached.splice(0)) {
        await this.unlockDay(q, day);
        await onDropped({
          name: partition.name,
          from: partition.from.toISOString(),
          to: partition.to.toISOString(),
          messages,
          ms: ms + share,
        });
      }
    };
    try {
      // DETACH ... CONCURRENTLY waits for every transaction that began before it and still uses the
      // table; one that never ends (a frozen client, a pg_dump) must not stall the run for good.
      await q.query(`SET lock_timeout = ${this.env.PARTITION_DETACH_TIMEOUT_MS}`, []);
      const due = (await this.list(q, { detached: true })).filter((p) => p.to.getTime() <= cutoff.getTime());
      if (due.length > 0)
        this.logger.log(`dropping ${due.length} expired message partition(s), ${due[0].name} to ${due[due.length - 1].name}`);
      for (const partition of due) {
        if (keepIf) {
          const p = new SqlParams(this.db.kind);
          const condition = keepIf(p);
          if ((await q.query(`SELECT 1 FROM "${partition.name}" m WHERE ${condition} LIMIT 1`, p.values)).length > 0) {
            this.logger.log(`${partition.name} holds messages waiting for their notice: kept, its other rows deleted in batches`);
            continue;
          }
        }
        if (detached.length >= DROP_TOGETHER) await dropDetached();
        throwIfFenced(fence);
        await this.holdsFence(q, fence);
        const started = Date.now();
        const day = Math.floor(partition.from.getTime() / DAY_MS);
        await q.query('SELECT pg_advisory_lock($1, $2)', [PARTITION_LOCK_KEY, day]);
        try {
          const messages = await this.detachAndCount(q, partition, cutoff);
          detached.push({ partition, day, messages, ms: Date.now() - started });
        } catch (error) {
          await this.unlockDay(q, day);
          if (!isLockTimeout(error)) throw error;
          // Left half-detached: invisible through message, and finished by the next run (FINALIZE).
          const holders = await this.oldTransactions(q);
          heldUp.push({ name: partition.name, holders });
          this.logger.warn(
            { partition: partition.name, holders },
            `could not detach ${partition.name} within PARTITION_DETACH_TIMEOUT_MS (${this.env.PARTITION_DETACH_TIMEOUT_MS} ms), ${holders}; the next run drops it`,
          );
        }
      }
      await dropDetached();
    } finally {
      // A run stopped between partitions (its fence lost, an error) still drops what it detached:
      // every row of those is due. What fails here is left to the next run's sweep.
      await dropDetached().catch((error: unknown) =>
        this.logger.error({ err: error }, 'could not drop the detached partitions; the next cleanup drops them'),
      );
      await q.query('RESET lock_timeout', []).catch(() => undefined);
      await runner.release();
    }
    return heldUp;
  }

  private async unlockDay(q: Statements, day: number): Promise<void> {
    await q.query('SELECT pg_advisory_unlock($1, $2)', [PARTITION_LOCK_KEY, day]);
  }

  /** The transactions open longest on this database, other than this one: what a detach waits for. */
  private async oldTransactions(q: Statements): Promise<string> {
    const rows = await q.query<{ pid: number; state: string; secs: number; app: string }>(
      `SELECT pid, state, extract(epoch FROM now() - xact_start)::int AS secs, application_name AS app FROM pg_stat_activity
       WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 3`,
      [],
    );
    if (rows.length === 0) return 'no transaction is open any more';
    return `held up by ${rows.map((r) => `pid ${r.pid} (${r.state}${r.app ? `, ${r.app}` : ''}, open ${r.secs} s)`).join(', ')}`;
  }

  /** Detaches a due partition (or finishes a half-done detach) and counts what it holds; the caller drops it. */
  private async detachAndCount(q: Statements, partition: DayPartition, cutoff: Date): Promise<number> {
    const table = `"${partition.name}"`;
    const [state] = await q.query<{ attached: boolean; pending: boolean }>(
      `SELECT true AS attached, inhdetachpending AS pending FROM pg_inherits WHERE inhparent = 'message'::regclass AND inhrelid = to_regclass($1)`,
      [table],
    );
    if (state?.pending) await q.query(`ALTER TABLE message DETACH PARTITION ${table} FINALIZE`, []);
    else if (state?.attached) await q.query(`ALTER TABLE message DETACH PARTITION ${table} CONCURRENTLY`, []);
    // Nothing can be written into it now. Counted as evidence, and checked: by its bounds nothing in
    // it is younger than the cutoff, but a table that says otherwise is put back, never dropped.
    const [count] = await q.query<{ n: string; young: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE created_at > $1) AS young FROM ${table}`,
      [cutoff],
    );
    if (Number(count.young) > 0) {
      // Bounds are literals (DDL takes no parameters); ISO strings made here, nothing from outside.
      const bounds = `FROM ('${partition.from.toISOString()}') TO ('${partition.to.toISOString()}')`;
      await q.query(`ALTER TABLE message ATTACH PARTITION ${table} FOR VALUES ${bounds}`, []);
      throw new Error(`partition ${partition.name} holds ${count.young} rows younger than the cutoff; it was attached again, not dropped`);
    }
    return Number(count.n);
  }

  /** Throws FenceLost unless the run still holds its fence (its lease) now. */
  private async holdsFence(q: Statements, fence: WriteFence): Promise<void> {
    const p = new SqlParams('postgres');
    const [ok] = await q.query(`SELECT 1 AS ok WHERE ${fence.condition(p)}`, p.values);
    if (ok) return;
    await fence.check();
    throw new FenceLost('the run no longer holds its lease');
  }
}

import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { Env } from '../config/env.validation';
import { DatabaseKind } from './data-source';
import { DatabaseBusy, isBusy } from './errors';
import { execute, WriteResult } from './execute';
import { SqliteWorker } from './sqlite-worker';

/** Statements run one by one: inside a transaction, or each committing on its own (Database.offloaded). */
export interface Statements {
  /** Rows as the driver returns them; the caller names the columns it selected. */
  query<Row>(sql: string, params: unknown[]): Promise<Row[]>;
  /** How many rows the statement changed. */
  affected(sql: string, params: unknown[]): Promise<number>;
}

export function statementsOf(runner: QueryRunner): Statements {
  return {
    query: (sql, params) => runner.query(sql, params),
    affected: async (sql, params) => (await execute(runner, sql, params)).affected,
  };
}

/** The main thread's better-sqlite3 connection (TypeORM's driver shares one between all callers). */
interface SqliteConnection {
  exec(sql: string): unknown;
  pragma(sql: string): unknown;
  readonly inTransaction: boolean;
}

/** How long the SQLite worker's statements wait for another process's write lock (in its own thread). */
const WORKER_BUSY_TIMEOUT_MS = 30_000;
const CHECKPOINT_EVERY_MS = 5000;

/**
 * The way to write (the cleanup's batches on PostgreSQL, single statements on a connection of
 * their own, are the one exception). On PostgreSQL a transaction gets its own pooled connection.
 *
 * SQLite. TypeORM's better-sqlite3 driver shares a single connection between all callers, so two
 * overlapping transactions would interleave on it (the second would become a savepoint of the
 * first, and a rollback of one would undo the other's writes); writers therefore queue here and run
 * one at a time, and reads need no queue. Other processes may hold the file's write lock (the
 * command line's cleanup, a second service by mistake), and better-sqlite3's busy timeout waits for
 * it synchronously, freezing every request meanwhile. So the write lock is taken here instead:
 * BEGIN IMMEDIATE with no busy timeout, tried again every millisecond from a timer for up to
 * DB_BUSY_TIMEOUT_MS, then DatabaseBusy (503). IMMEDIATE, because a deferred transaction that has
 * read and then writes cannot wait for the lock at all: SQLite fails it at once with SQLITE_BUSY.
 * Only the head of the queue polls, so one timer does, however many requests wait.
 *
 * Work that would hold the event loop for long (a cleanup's batches and counts) runs on a second
 * connection in a worker thread (`offloaded`, in the same queue; `heavyRead`).
 */
@Injectable()
export class Database implements OnApplicationShutdown {
  readonly kind: DatabaseKind;
  private readonly logger = new Logger(Database.name);
  private tail: Promise<unknown> = Promise.resolve();
  private readonly connection?: SqliteConnection;
  private readonly worker?: SqliteWorker;
  private readonly busyTimeoutMs: number;
  private contendedAt = -Infinity;

  constructor(
    @InjectDataSource() readonly dataSource: DataSource,
    env: Env,
  ) {
    this.kind = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
    this.busyTimeoutMs = env.DB_BUSY_TIMEOUT_MS;
    if (this.kind !== 'sqlite') return;
    this.connection = (dataSource.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection;
    // Waits for the lock happen in beginImmediate, off the event loop; never in a statement.
    this.connection.pragma('busy_timeout = 0');
    const file = String(dataSource.options.database);
    if (file === ':memory:') return;
    this.connection.pragma('wal_autocheckpoint = 0');
    this.worker = new SqliteWorker({
      file,
      busyTimeoutMs: Math.max(WORKER_BUSY_TIMEOUT_MS, this.busyTimeoutMs),
      checkpointEveryMs: CHECKPOINT_EVERY_MS,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.kind === 'postgres') return this.dataSource.transaction(work);
    return this.queued(() => this.immediate(work));
  }

  /**
   * One raw statement, atomic by itself, answering what it changed: on PostgreSQL autocommitted (a
   * BEGIN and a COMMIT around it would be two more round trips and change nothing), on SQLite in the
   * write queue under BEGIN IMMEDIATE (see immediate: an autocommitted write could not wait for the lock).
   */
  async write<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<WriteResult<T>> {
    if (this.kind === 'sqlite') return this.transaction((m) => execute<T>(m, sql, params));
    const runner = this.dataSource.createQueryRunner();
    try {
      return await execute<T>(runner, sql, params);
    } finally {
      await runner.release();
    }
  }

  /**
   * Raw statements that may take long, each committing on its own: on a SQLite file, on the worker
   * thread's connection, one at a time in the write queue (so this process's own writers never wait
   * on them for the lock, only in the queue); elsewhere, in an ordinary transaction. For work whose
   * every statement stands alone, like a cleanup batch (one DELETE, and perhaps a read before it).
   */
  offloaded<T>(work: (statements: Statements) => Promise<T>): Promise<T> {
    const worker = this.worker;
    if (!worker) return this.transaction((m) => work(statementsOf(m.queryRunner!)));
    return this.queued(() =>
      work({
        query: (sql, params) => worker.all(sql, params),
        affected: async (sql, params) => {
          const started = Date.now();
          try {
            const { changes, waited } = await worker.run(sql, params);
            if (waited) this.contendedAt = Date.now();
            return changes;
          } catch (error) {
            throw isBusy(error) ? new DatabaseBusy(Date.now() - started) : error;
          }
        },
      }),
    );
  }

  /**
   * Whether another process wanted the write lock lately: this process had to wait for it within
   * the last `withinMs`. A long writer (a cleanup) then leaves gaps between its batches, since the
   * other process's writers poll for the lock and would otherwise hardly ever find it free.
   */
  contended(withinMs = 10_000): boolean {
    return Date.now() - this.contendedAt < withinMs;
  }

  /** A read that may scan much of a table (a count for progress or a preview): off the event loop on a SQLite file. */
  heavyRead<Row>(sql: string, params: unknown[]): Promise<Row[]> {
    return this.worker ? this.worker.all<Row>(sql, params) : this.dataSource.query(sql, params);
  }

  private queued<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * A transaction on TypeORM's shared connection that holds the write lock from its first statement.
   * TypeORM's own startTransaction would say BEGIN (deferred), so the lock is taken here and the query
   * runner is told it is inside a transaction: save() and the like then add no BEGIN of their own.
   */
  private async immediate<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const connection = this.connection!;
    await this.beginImmediate(connection);
    const runner = this.dataSource.createQueryRunner();
    Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
    try {
      const result = await work(runner.manager);
      connection.exec('COMMIT');
      return result;
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK');
      throw error;
    } finally {
      Object.assign(runner, { isTransactionActive: false, transactionDepth: 0 });
      await runner.release();
    }
  }

  private async beginImmediate(connection: SqliteConnection): Promise<void> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        connection.exec('BEGIN IMMEDIATE');
        if (attempt > 1) {
          this.contendedAt = Date.now();
          this.logger.debug(`waited ${Date.now() - started} ms for the SQLite write lock (${attempt} attempts)`);
        }
        return;
      } catch (error) {
        if (!isBusy(error)) throw error;
        const waited = Date.now() - started;
        if (waited >= this.busyTimeoutMs) {
          this.logger.warn(`gave up waiting for the SQLite write lock after ${waited} ms: another process holds it`);
          throw new DatabaseBusy(waited);
        }
        await sleep(1);
      }
    }
  }
}

import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DatabaseKind } from './data-source';
import { execute, WriteResult } from './execute';

/**
 * The way to write (the cleanup's batches on PostgreSQL, single statements on a connection of
 * their own, are the one exception). On PostgreSQL a transaction gets its own pooled connection. TypeORM's
 * better-sqlite3 driver shares a single connection between all callers, so two overlapping
 * transactions would interleave on it (the second would become a savepoint of the first, and a
 * rollback of one would undo the other's writes). On SQLite writers therefore queue here and run
 * one at a time; reads need no queue.
 */
@Injectable()
export class Database {
  readonly kind: DatabaseKind;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() readonly dataSource: DataSource) {
    this.kind = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (this.kind === 'postgres') return this.dataSource.transaction(work);
    const run = this.tail.then(() => this.dataSource.transaction(work));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** One raw statement in a transaction of its own (on SQLite, in the write queue), answering what it changed. */
  write<T = Record<string, unknown>>(sql: string, params: unknown[]): Promise<WriteResult<T>> {
    return this.transaction((m) => execute<T>(m, sql, params));
  }
}

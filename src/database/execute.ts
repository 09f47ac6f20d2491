import { EntityManager, QueryRunner } from 'typeorm';

/** What a raw statement changed, in the same form on both databases. */
export interface WriteResult<T = Record<string, unknown>> {
  /** Rows the statement changed (inserted, updated or deleted). */
  affected: number;
  /** The rows of its RETURNING clause; none without one. */
  records: T[];
}

/**
 * Runs one raw statement and answers what it changed. TypeORM's structured result differs by driver:
 * node-postgres gives the row count for every statement, while better-sqlite3 gives `affected` only
 * for a statement without RETURNING, and for one with it only the rows (which are then the rows changed).
 * A manager must be a transaction's, whose query runner holds the transaction.
 */
export async function execute<T = Record<string, unknown>>(
  on: QueryRunner | EntityManager,
  sql: string,
  params: unknown[],
): Promise<WriteResult<T>> {
  const runner = on instanceof EntityManager ? on.queryRunner : on;
  if (!runner) throw new Error('execute() runs on a query runner or a transaction manager, not on the data source manager');
  const result = await runner.query(sql, params, true);
  const records: T[] = result.records ?? [];
  return { affected: result.affected ?? records.length, records };
}

import { Logger } from '@nestjs/common';
import { DataSource, MigrationExecutor, QueryRunner } from 'typeorm';

// Any constant works; it only has to be the same for every replica of this service.
const MIGRATION_LOCK_KEY = 7_362_514_001;

/**
 * Applies pending migrations. Replicas that start together on PostgreSQL take turns under an
 * advisory lock, so exactly one of them migrates and the others find nothing left to do.
 */
export async function runMigrations(dataSource: DataSource, logger = new Logger('Migrations')): Promise<void> {
  const started = Date.now();
  const apply = async (queryRunner?: QueryRunner) => {
    const executor = new MigrationExecutor(dataSource, queryRunner);
    executor.transaction = 'each';
    const applied = await executor.executePendingMigrations();
    for (const m of applied) logger.log(`applied migration ${m.name}`);
    logger.log(`schema up to date (${applied.length} applied, ${Date.now() - started} ms)`);
  };
  if (dataSource.options.type !== 'postgres') return apply();

  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    // On the lock's own connection: a second one would deadlock the boot with DB_POOL_SIZE=1.
    await apply(lockRunner);
  } finally {
    await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockRunner.release();
  }
}

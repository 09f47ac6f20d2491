import { QueryRunner } from 'typeorm';

/**
 * Column types for migrations that are written once and run on both databases: PostgreSQL gets its
 * native uuid and timestamptz, SQLite the text forms TypeORM reads and writes for it.
 */
export function columnTypes(queryRunner: QueryRunner) {
  const postgres = queryRunner.connection.options.type === 'postgres';
  return {
    uuid: postgres ? { type: 'uuid' } : { type: 'varchar', length: '36' },
    timestamp: postgres ? { type: 'timestamptz' } : { type: 'datetime' },
  };
}

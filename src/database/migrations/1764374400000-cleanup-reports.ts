import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

export class CleanupReports1764374400000 implements MigrationInterface {
  name = 'CleanupReports1764374400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'cleanup_report',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'scheduled_for', ...timestamp },
          { name: 'trigger', type: 'varchar', length: '16' },
          { name: 'triggered_by', type: 'varchar', length: '32' },
          { name: 'dry_run', type: 'boolean', default: false },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'policy', type: 'text' },
          { name: 'cutoff', ...timestamp },
          { name: 'messages_deleted', type: 'integer', default: 0 },
          { name: 'conversations_deleted', type: 'integer', default: 0 },
          { name: 'batches', type: 'integer', default: 0 },
          { name: 'batch_size', type: 'integer' },
          { name: 'max_batch_ms', type: 'integer', default: 0 },
          { name: 'started_at', ...timestamp },
          { name: 'heartbeat_at', ...timestamp },
          { name: 'finished_at', ...timestamp, isNullable: true },
          { name: 'duration_ms', type: 'integer', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
        ],
        checks: [{ name: 'CHK_cleanup_report_status', expression: `"status" IN ('running', 'succeeded', 'failed', 'abandoned')` }],
        indices: [
          // Listing newest first, and purging reports past their retention.
          new TableIndex({ name: 'IDX_cleanup_report_started', columnNames: ['started_at'] }),
          new TableIndex({ name: 'IDX_cleanup_report_status', columnNames: ['status'] }),
        ],
      }),
    );
    // The cleanup walks conversations in (started_at, id) order; the (child_id, started_at) index cannot serve that.
    await queryRunner.createIndex('conversation', new TableIndex({ name: 'IDX_conversation_started', columnNames: ['started_at', 'id'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('conversation', 'IDX_conversation_started');
    await queryRunner.dropTable('cleanup_report');
  }
}

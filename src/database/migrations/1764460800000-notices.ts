import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex, TableUnique } from 'typeorm';
import { columnTypes } from './column-types';

export class Notices1764460800000 implements MigrationInterface {
  name = 'Notices1764460800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'notice',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'guardian_id', ...uuid },
          { name: 'cleanup_at', ...timestamp },
          { name: 'locale', type: 'varchar', length: '2' },
          { name: 'channel', type: 'varchar', length: '32' },
          { name: 'delivered_channels', type: 'varchar', length: '32', default: "''" },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'next_attempt_at', ...timestamp },
          { name: 'claim_token', ...uuid, isNullable: true },
          { name: 'claimed_until', ...timestamp, isNullable: true },
          { name: 'last_error', type: 'text', isNullable: true },
          { name: 'children', type: 'text' },
          { name: 'messages', type: 'integer' },
          { name: 'conversations', type: 'integer' },
          { name: 'sent_at', ...timestamp, isNullable: true },
          { name: 'created_at', ...timestamp },
        ],
        checks: [{ name: 'CHK_notice_status', expression: `"status" IN ('pending', 'sent', 'failed', 'dead')` }],
        // One notice per guardian per cleanup run: a second notice job, a retry or another replica
        // inserts with ON CONFLICT DO NOTHING against this key and creates nothing.
        uniques: [new TableUnique({ name: 'UQ_notice_guardian_cleanup', columnNames: ['guardian_id', 'cleanup_at'] })],
        foreignKeys: [
          // Erasing a guardian erases their notices (which name their children) too.
          new TableForeignKey({
            name: 'FK_notice_guardian',
            columnNames: ['guardian_id'],
            referencedTableName: 'guardian',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [
          // The delivery worker's claim: due notices in order of their next attempt.
          new TableIndex({ name: 'IDX_notice_status_next', columnNames: ['status', 'next_attempt_at'] }),
          // The admin listing, newest first.
          new TableIndex({ name: 'IDX_notice_created', columnNames: ['created_at', 'id'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('notice');
  }
}

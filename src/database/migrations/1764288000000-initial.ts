import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

export class Initial1764288000000 implements MigrationInterface {
  name = 'Initial1764288000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);

    await queryRunner.createTable(
      new Table({
        name: 'guardian',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'email', type: 'varchar', length: '320' },
          { name: 'display_name', type: 'varchar', length: '100' },
          { name: 'locale', type: 'varchar', length: '2', default: "'en'" },
          { name: 'retention_days', type: 'integer', isNullable: true },
          { name: 'notifications_enabled', type: 'boolean', default: true },
          { name: 'created_at', ...timestamp },
        ],
        checks: [
          { name: 'CHK_guardian_locale', expression: `"locale" IN ('en', 'ar')` },
          { name: 'CHK_guardian_retention', expression: `"retention_days" IS NULL OR "retention_days" >= 1` },
        ],
        indices: [{ name: 'UQ_guardian_email', columnNames: ['email'], isUnique: true }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'child',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'guardian_id', ...uuid },
          { name: 'display_name', type: 'varchar', length: '100' },
          { name: 'created_at', ...timestamp },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_child_guardian',
            columnNames: ['guardian_id'],
            referencedTableName: 'guardian',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        indices: [new TableIndex({ name: 'IDX_child_guardian', columnNames: ['guardian_id'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'conversation',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'child_id', ...uuid },
          { name: 'started_at', ...timestamp },
          { name: 'created_at', ...timestamp },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_conversation_child',
            columnNames: ['child_id'],
            referencedTableName: 'child',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
        // Leads with the foreign key (erasure, cascades) and serves the per-child listing and the
        // retention check on started_at.
        indices: [new TableIndex({ name: 'IDX_conversation_child_started', columnNames: ['child_id', 'started_at'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'message',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'conversation_id', ...uuid },
          { name: 'role', type: 'varchar', length: '5' },
          { name: 'text', type: 'text' },
          { name: 'created_at', ...timestamp },
        ],
        checks: [{ name: 'CHK_message_role', expression: `"role" IN ('child', 'teddy')` }],
        foreignKeys: [
          // NO ACTION, not CASCADE: deleting a conversation must never take a message with it. The
          // cleanup deletes only empty conversations, and if a message lands in one meanwhile this
          // check fails the delete instead (see BatchDeleter.deleteConversationBatch). Erasure
          // deletes messages first.
          new TableForeignKey({
            name: 'FK_message_conversation',
            columnNames: ['conversation_id'],
            referencedTableName: 'conversation',
            referencedColumnNames: ['id'],
            onDelete: 'NO ACTION',
          }),
        ],
        indices: [
          // The retention scan: every message older than a cutoff, oldest first.
          new TableIndex({ name: 'IDX_message_created', columnNames: ['created_at'] }),
          // Leads with the foreign key and serves the per-conversation listing in order.
          new TableIndex({ name: 'IDX_message_conversation_created', columnNames: ['conversation_id', 'created_at'] }),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['message', 'conversation', 'child', 'guardian']) {
      await queryRunner.dropTable(table);
    }
  }
}

import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { columnTypes } from './column-types';

export class Erasures1764633600000 implements MigrationInterface {
  name = 'Erasures1764633600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'erasure_record',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          // No foreign key: the guardian is gone, and this row is the evidence that it went.
          { name: 'guardian_id', ...uuid },
          { name: 'erased_at', ...timestamp },
          { name: 'erased_by', type: 'varchar', length: '32' },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'children', type: 'integer' },
          { name: 'conversations', type: 'integer' },
          { name: 'messages', type: 'integer' },
        ],
        indices: [new TableIndex({ name: 'IDX_erasure_guardian', columnNames: ['guardian_id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('erasure_record');
  }
}

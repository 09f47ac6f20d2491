import { MigrationInterface, QueryRunner, Table, TableCheck, TableColumn, TableForeignKey, TableUnique } from 'typeorm';
import { columnTypes } from './column-types';

const STATUSES_BEFORE = `"status" IN ('pending', 'sent', 'failed', 'dead')`;
const STATUSES_AFTER = `"status" IN ('pending', 'sent', 'failed', 'dead', 'suppressed')`;

/**
 * Digest notices (issue 14).
 * - guardian.notice_frequency: 'digest' (at most one notice per NOTICE_DIGEST_DAYS) or 'each_run'.
 * - message.received_at: when the service stored the message (null: before this migration). A backdated
 *   import is told apart from data that was there when the last notice went out by this, not by created_at.
 * - notice_coverage: per guardian, what their notices have announced so far, as two watermarks: every
 *   message created at or before created_until and received at or before received_until. `revision` is
 *   the number of notices behind it; a notice run moves it only from the revision it read.
 * - notice: one row per notice (not per cleanup run): `seq` (its revision, unique per guardian) replaces
 *   the (guardian, cleanup_at) key; cleanup_at is its first deletion; `groups` what it announces per child
 *   and deletion date. 'suppressed': the record of what a guardian with notices off was not told.
 *
 * Notices sent before this migration go on counting: each guardian's coverage starts where their latest
 * per-run notice ended (its cleanup time less their retention), so nothing they were told is told again.
 */
export class NoticeDigest1765065600000 implements MigrationInterface {
  name = 'NoticeDigest1765065600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);
    const postgres = queryRunner.connection.options.type === 'postgres';
    await queryRunner.addColumn(
      'guardian',
      new TableColumn({ name: 'notice_frequency', type: 'varchar', length: '16', default: "'digest'" }),
    );
    // Raw: on SQLite, TypeORM would copy the whole message table to add a column; ALTER TABLE adds it in place.
    await queryRunner.query(`ALTER TABLE message ADD COLUMN received_at ${postgres ? 'timestamptz' : 'datetime'}`);

    await queryRunner.createTable(
      new Table({
        name: 'notice_coverage',
        columns: [
          { name: 'guardian_id', ...uuid, isPrimary: true },
          { name: 'created_until', ...timestamp },
          { name: 'received_until', ...timestamp },
          { name: 'revision', type: 'integer' },
          { name: 'updated_at', ...timestamp },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_notice_coverage_guardian',
            columnNames: ['guardian_id'],
            referencedTableName: 'guardian',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          }),
        ],
      }),
    );

    await queryRunner.addColumns('notice', [
      new TableColumn({ name: 'seq', type: 'integer', default: 0 }),
      new TableColumn({ name: 'covers_until', ...timestamp, isNullable: true }),
      new TableColumn({ name: 'groups', type: 'text', isNullable: true }),
      new TableColumn({ name: 'short_notice', type: 'boolean', default: false }),
      new TableColumn({ name: 'frequency', type: 'varchar', length: '16', default: "'each_run'" }),
      new TableColumn({ name: 'time_zone', type: 'varchar', length: '64', isNullable: true }),
    ]);
    // The per-run notices so far, numbered per guardian in the order of their cleanup runs.
    await queryRunner.query(
      `UPDATE notice SET seq = (SELECT COUNT(*) FROM notice n2 WHERE n2.guardian_id = notice.guardian_id AND n2.cleanup_at <= notice.cleanup_at)`,
    );
    const retention = Number(process.env.RETENTION_DAYS ?? 30) || 30;
    const days = `MIN(COALESCE(g.retention_days, ${retention}), ${retention})`;
    const until = postgres
      ? `MAX(n.cleanup_at) - make_interval(days => ${days.replace('MIN(', 'LEAST(')})`
      : `strftime('%Y-%m-%d %H:%M:%f', MAX(n.cleanup_at), '-' || ${days} || ' days')`;
    const now = postgres ? 'now()' : `strftime('%Y-%m-%d %H:%M:%f', 'now')`;
    await queryRunner.query(
      `INSERT INTO notice_coverage (guardian_id, created_until, received_until, revision, updated_at)
       SELECT n.guardian_id, ${until}, ${now}, COUNT(*), ${now}
         FROM notice n JOIN guardian g ON g.id = n.guardian_id
        GROUP BY n.guardian_id, g.retention_days`,
    );
    await queryRunner.dropUniqueConstraint('notice', 'UQ_notice_guardian_cleanup');
    await queryRunner.createUniqueConstraint(
      'notice',
      new TableUnique({ name: 'UQ_notice_guardian_seq', columnNames: ['guardian_id', 'seq'] }),
    );
    await queryRunner.dropCheckConstraint('notice', 'CHK_notice_status');
    await queryRunner.createCheckConstraint('notice', new TableCheck({ name: 'CHK_notice_status', expression: STATUSES_AFTER }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM notice WHERE status = 'suppressed'`);
    await queryRunner.dropCheckConstraint('notice', 'CHK_notice_status');
    await queryRunner.createCheckConstraint('notice', new TableCheck({ name: 'CHK_notice_status', expression: STATUSES_BEFORE }));
    await queryRunner.dropUniqueConstraint('notice', 'UQ_notice_guardian_seq');
    // Two digests of one guardian may start on the same cleanup run; the older key keeps the later one.
    await queryRunner.query(
      `DELETE FROM notice WHERE EXISTS (SELECT 1 FROM notice n2 WHERE n2.guardian_id = notice.guardian_id AND n2.cleanup_at = notice.cleanup_at AND n2.seq > notice.seq)`,
    );
    await queryRunner.createUniqueConstraint(
      'notice',
      new TableUnique({ name: 'UQ_notice_guardian_cleanup', columnNames: ['guardian_id', 'cleanup_at'] }),
    );
    for (const column of ['time_zone', 'frequency', 'short_notice', 'groups', 'covers_until', 'seq'])
      await queryRunner.dropColumn('notice', column);
    await queryRunner.dropTable('notice_coverage');
    await queryRunner.query('ALTER TABLE message DROP COLUMN received_at');
    await queryRunner.dropColumn('guardian', 'notice_frequency');
  }
}

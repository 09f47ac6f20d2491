import { MigrationInterface, QueryRunner } from 'typeorm';
import { ID_TIME_CHECK } from './1764806400000-partitioned-messages';

/**
 * PostgreSQL: a message's id may now be the client's own (any UUID, for safe retries), so the CHECK
 * that a version-7 id encodes its row's created_at goes: a client's version-7 id encodes when the
 * client made it. The service's own ids still do. A repeated client id is refused by a lookup under
 * the conversation's lock instead (RecordsService.appendMessages). SQLite had no such check.
 */
export class ClientMessageIds1764892800000 implements MigrationInterface {
  name = 'ClientMessageIds1764892800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`ALTER TABLE message DROP CONSTRAINT "CHK_message_id_time"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    // NOT VALID: rows stored with client ids meanwhile stay; new rows are held to it again.
    await queryRunner.query(`ALTER TABLE message ADD CONSTRAINT "CHK_message_id_time" CHECK (${ID_TIME_CHECK}) NOT VALID`);
  }
}

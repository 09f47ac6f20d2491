import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** A guardian's own time zone (IANA), for the dates in their notices; null: SCHEDULER_TIMEZONE. */
export class GuardianTimeZone1764979200000 implements MigrationInterface {
  name = 'GuardianTimeZone1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('guardian', new TableColumn({ name: 'time_zone', type: 'varchar', length: '64', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('guardian', 'time_zone');
  }
}

import { Logger } from '@nestjs/common';
import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Serialises the creators of one day's partition (pg_advisory_xact_lock(this, day number)); the cleanup takes it too. */
export const PARTITION_LOCK_KEY = 736_251_402;

/**
 * Creates the UTC days' partitions from `from_ts` to `to_ts` that do not exist yet; returns how many
 * it created. A table is created on its own and then attached: CREATE TABLE ... PARTITION OF would
 * take an ACCESS EXCLUSIVE lock on message and stop every reader and writer, ATTACH takes SHARE
 * UPDATE EXCLUSIVE, which lets them go on. The advisory lock per day makes two importers that need
 * the same day at once create it once, and waits while the cleanup drops that day's partition.
 */
const ENSURE_FUNCTION = `
CREATE FUNCTION ensure_message_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  day timestamp := date_trunc('day', from_ts AT TIME ZONE 'UTC');
  last_day timestamp := date_trunc('day', to_ts AT TIME ZONE 'UTC');
  lower_bound timestamptz;
  name text;
  created integer := 0;
BEGIN
  IF last_day - day > interval '3660 days' THEN
    RAISE EXCEPTION 'ensure_message_partitions: % to % spans more than 3660 days; ask for the days that hold rows', from_ts, to_ts;
  END IF;
  WHILE day <= last_day LOOP
    lower_bound := day AT TIME ZONE 'UTC';
    name := 'message_p' || to_char(day, 'YYYYMMDD');
    PERFORM pg_advisory_xact_lock(${PARTITION_LOCK_KEY}, (extract(epoch FROM lower_bound) / 86400)::integer);
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'message'::regclass AND inhrelid = to_regclass(quote_ident(name))) THEN
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I (LIKE message INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
      EXECUTE format('ALTER TABLE message ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lower_bound, lower_bound + interval '1 day');
      created := created + 1;
    END IF;
    day := day + interval '1 day';
  END LOOP;
  RETURN created;
END
$fn$`;

/**
 * A version-7 id encodes its row's created_at (src/records/message-id.ts): 48 bits of Unix
 * milliseconds, then 12 bits of microseconds within the millisecond. An id thus fixes its partition,
 * and the partition's primary key (id, created_at) makes it unique. Random (version 4) ids, stored
 * before, pass.
 */
export const ID_TIME_CHECK = `substr(id::text, 15, 1) <> '7' OR
  ('x' || substr(id::text, 1, 8) || substr(id::text, 10, 4))::bit(48)::bigint * 1000 + ('x' || substr(id::text, 16, 3))::bit(12)::integer
  = floor(extract(epoch FROM created_at) * 1000000)::bigint`;

const COLUMNS = `id uuid NOT NULL, conversation_id uuid NOT NULL, role varchar(5) NOT NULL, text text NOT NULL, created_at timestamptz NOT NULL,
  CONSTRAINT "CHK_message_role" CHECK (role IN ('child', 'teddy'))`;

/** How many days ahead a fresh or converted table gets partitions (the maintenance job keeps PARTITION_PREMAKE_DAYS). */
const DAYS_AHEAD = 7;
const PROGRESS_EVERY_MS = 5000;

/**
 * PostgreSQL: the message table becomes range-partitioned by created_at, one partition per UTC day,
 * so the cleanup can drop a whole expired day instead of deleting its rows (src/partitions). The rows
 * are copied day by day, then the old table is dropped, all in this migration's transaction: a crash
 * leaves the table as it was. Indexes are built after the copy (faster than maintaining them per row).
 *
 * The foreign key message -> conversation is not recreated. On a partitioned table its check, run
 * for every deleted conversation, probes each partition and made the cleanup's conversation deletes
 * 12 times dearer (bench/partition-fk.sh). The race it guarded is guarded by row locks instead: an
 * append holds its conversation FOR KEY SHARE, and a delete locks a conversation FOR UPDATE before
 * testing it is empty (RecordsService, BatchDeleter).
 *
 * Both databases: cleanup reports get the partitions a run dropped, with what each held.
 */
export class PartitionedMessages1764806400000 implements MigrationInterface {
  name = 'PartitionedMessages1764806400000';
  private readonly logger = new Logger('Migrations');

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('cleanup_report', new TableColumn({ name: 'partitions', type: 'text', isNullable: true }));
    if (queryRunner.connection.options.type !== 'postgres') return;

    const [pk] = await queryRunner.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'message'::regclass AND contype = 'p'`);
    await queryRunner.query(`ALTER TABLE message RENAME TO message_unpartitioned`);
    await queryRunner.query(`ALTER TABLE message_unpartitioned RENAME CONSTRAINT "${pk.conname}" TO "PK_message_unpartitioned"`);
    await queryRunner.query(`ALTER INDEX "IDX_message_created" RENAME TO "IDX_message_unpartitioned_created"`);
    await queryRunner.query(`ALTER INDEX "IDX_message_conversation_created" RENAME TO "IDX_message_unpartitioned_conversation"`);
    await queryRunner.query(
      `CREATE TABLE message (${COLUMNS}, CONSTRAINT "CHK_message_id_time" CHECK (${ID_TIME_CHECK})) PARTITION BY RANGE (created_at)`,
    );
    await queryRunner.query(ENSURE_FUNCTION);

    // The UTC days that hold rows, found by skipping through the created_at index (a day per probe).
    const days: { day: Date }[] = await queryRunner.query(`
      WITH RECURSIVE d(day) AS (
        SELECT date_trunc('day', min(created_at) AT TIME ZONE 'UTC') FROM message_unpartitioned
        UNION ALL
        SELECT (SELECT date_trunc('day', min(created_at) AT TIME ZONE 'UTC') FROM message_unpartitioned
                WHERE created_at >= (d.day + interval '1 day') AT TIME ZONE 'UTC')
        FROM d WHERE d.day IS NOT NULL)
      SELECT day AT TIME ZONE 'UTC' AS day FROM d WHERE day IS NOT NULL ORDER BY day`);
    const [{ n: total }] = await queryRunner.query(`SELECT count(*)::bigint AS n FROM message_unpartitioned`);
    this.logger.log(`partitioning message: ${Number(total)} rows over ${days.length} days`);
    const started = Date.now();
    let moved = 0;
    let logged = started;
    for (const { day } of days) {
      await queryRunner.query(`SELECT ensure_message_partitions($1, $1)`, [day]);
      const { affected } = await queryRunner.query(
        `INSERT INTO message (id, conversation_id, role, text, created_at)
         SELECT id, conversation_id, role, text, created_at FROM message_unpartitioned
         WHERE created_at >= $1 AND created_at < $1::timestamptz + interval '1 day'`,
        [day],
        true,
      );
      moved += affected ?? 0;
      if (Date.now() - logged >= PROGRESS_EVERY_MS) {
        logged = Date.now();
        this.logger.log(`partitioning message: ${moved} of ${Number(total)} rows copied (${Math.round((moved / Number(total)) * 100)}%)`);
      }
    }
    if (moved !== Number(total)) throw new Error(`partitioning message copied ${moved} rows of ${Number(total)}; nothing was changed`);
    await queryRunner.query(`SELECT ensure_message_partitions(now() - interval '1 day', now() + interval '${DAYS_AHEAD} days')`);
    await queryRunner.query(`DROP TABLE message_unpartitioned`);
    await queryRunner.query(`ALTER TABLE message ADD CONSTRAINT "PK_message" PRIMARY KEY (id, created_at)`);
    // The retention scan (the boundary day, shorter retentions) and the per-conversation listing, as before.
    await queryRunner.query(`CREATE INDEX "IDX_message_created" ON message (created_at)`);
    await queryRunner.query(`CREATE INDEX "IDX_message_conversation_created" ON message (conversation_id, created_at)`);
    this.logger.log(`partitioned message: ${moved} rows in ${days.length} daily partitions (${Date.now() - started} ms)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('cleanup_report', 'partitions');
    if (queryRunner.connection.options.type !== 'postgres') return;

    await queryRunner.query(`ALTER TABLE message RENAME TO message_partitioned`);
    await queryRunner.query(`ALTER TABLE message_partitioned RENAME CONSTRAINT "PK_message" TO "PK_message_partitioned"`);
    await queryRunner.query(`ALTER INDEX "IDX_message_created" RENAME TO "IDX_message_partitioned_created"`);
    await queryRunner.query(`ALTER INDEX "IDX_message_conversation_created" RENAME TO "IDX_message_partitioned_conversation"`);
    await queryRunner.query(`CREATE TABLE message (${COLUMNS})`);
    const partitions: { name: string }[] = await queryRunner.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'message_partitioned'::regclass ORDER BY c.relname`,
    );
    const [{ n: total }] = await queryRunner.query(`SELECT count(*)::bigint AS n FROM message_partitioned`);
    this.logger.log(`unpartitioning message: ${Number(total)} rows in ${partitions.length} partitions`);
    let moved = 0;
    let logged = Date.now();
    for (const { name } of partitions) {
      const { affected } = await queryRunner.query(
        `INSERT INTO message (id, conversation_id, role, text, created_at) SELECT id, conversation_id, role, text, created_at FROM "${name}"`,
        [],
        true,
      );
      moved += affected ?? 0;
      if (Date.now() - logged >= PROGRESS_EVERY_MS) {
        logged = Date.now();
        this.logger.log(`unpartitioning message: ${moved} of ${Number(total)} rows copied`);
      }
    }
    if (moved !== Number(total)) throw new Error(`unpartitioning message copied ${moved} rows of ${Number(total)}; nothing was changed`);
    await queryRunner.query(`DROP TABLE message_partitioned`);
    await queryRunner.query(`DROP FUNCTION ensure_message_partitions(timestamptz, timestamptz)`);
    const pk = queryRunner.connection.namingStrategy.primaryKeyName('message', ['id']);
    await queryRunner.query(`ALTER TABLE message ADD CONSTRAINT "${pk}" PRIMARY KEY (id)`);
    await queryRunner.query(`CREATE INDEX "IDX_message_created" ON message (created_at)`);
    await queryRunner.query(`CREATE INDEX "IDX_message_conversation_created" ON message (conversation_id, created_at)`);
    const [{ n: orphans }] = await queryRunner.query(
      `SELECT count(*)::bigint AS n FROM message m WHERE NOT EXISTS (SELECT 1 FROM conversation c WHERE c.id = m.conversation_id)`,
    );
    if (Number(orphans) > 0) {
      throw new Error(`${Number(orphans)} messages belong to no conversation; the foreign key cannot come back until they are deleted`);
    }
    await queryRunner.query(
      `ALTER TABLE message ADD CONSTRAINT "FK_message_conversation" FOREIGN KEY (conversation_id) REFERENCES conversation(id) ON DELETE NO ACTION`,
    );
    this.logger.log(`unpartitioned message: ${moved} rows`);
  }
}

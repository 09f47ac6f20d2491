import { MigrationInterface, QueryRunner, Table, TableIndex, TableUnique } from 'typeorm';
import { columnTypes } from './column-types';

export class Scheduler1764547200000 implements MigrationInterface {
  name = 'Scheduler1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { uuid, timestamp } = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'scheduler_job',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'task', type: 'varchar', length: '32' },
          { name: 'cron', type: 'varchar', length: '200' },
          { name: 'timezone', type: 'varchar', length: '64' },
          { name: 'paused', type: 'boolean', default: false },
          { name: 'max_instances', type: 'integer', default: 1 },
          { name: 'coalesce_runs', type: 'boolean', default: true },
          // NULL: no limit, a missed fire always runs (once, when coalesced).
          { name: 'misfire_grace_seconds', type: 'integer', isNullable: true },
          { name: 'builtin', type: 'boolean', default: false },
          // A built-in job follows CLEANUP_CRON/NOTIFY_CRON/SCHEDULER_TIMEZONE until an operator sets its schedule.
          { name: 'schedule_overridden', type: 'boolean', default: false },
          { name: 'version', type: 'integer', default: 1 },
          { name: 'created_at', ...timestamp },
          { name: 'updated_at', ...timestamp },
        ],
        checks: [{ name: 'CHK_scheduler_job_instances', expression: `"max_instances" >= 1` }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'job_run',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'job_id', type: 'varchar', length: '64' },
          { name: 'task', type: 'varchar', length: '32' },
          { name: 'scheduled_for', ...timestamp },
          // The fire this run executes (its scheduled time as text) for scheduled and catch-up runs;
          // NULL for manual and command-line runs, which no other replica can also start.
          { name: 'fire_key', type: 'varchar', length: '40', isNullable: true },
          { name: 'attempt', type: 'integer', default: 1 },
          { name: 'trigger', type: 'varchar', length: '16' },
          { name: 'triggered_by', type: 'varchar', length: '64' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'owner', type: 'varchar', length: '160', isNullable: true },
          { name: 'started_at', ...timestamp },
          { name: 'heartbeat_at', ...timestamp },
          { name: 'lease_until', ...timestamp, isNullable: true },
          { name: 'finished_at', ...timestamp, isNullable: true },
          { name: 'duration_ms', type: 'integer', isNullable: true },
          { name: 'summary', type: 'text', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
        ],
        checks: [
          { name: 'CHK_job_run_status', expression: `"status" IN ('running', 'succeeded', 'failed', 'abandoned', 'skipped')` },
          { name: 'CHK_job_run_trigger', expression: `"trigger" IN ('scheduled', 'catch-up', 'manual', 'cli')` },
        ],
        // The claim: every replica inserts (job, fire, attempt) with ON CONFLICT DO NOTHING, and only the
        // one whose row went in runs the fire. A rerun after an abandoned attempt is attempt + 1, claimed
        // the same way. NULL fire keys (manual runs) never conflict.
        uniques: [new TableUnique({ name: 'UQ_job_run_fire', columnNames: ['job_id', 'fire_key', 'attempt'] })],
        indices: [
          new TableIndex({ name: 'IDX_job_run_job_started', columnNames: ['job_id', 'started_at', 'id'] }),
          new TableIndex({ name: 'IDX_job_run_status_lease', columnNames: ['status', 'lease_until'] }),
          new TableIndex({ name: 'IDX_job_run_started', columnNames: ['started_at'] }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_entry',
        columns: [
          { name: 'id', ...uuid, isPrimary: true },
          { name: 'at', ...timestamp },
          { name: 'actor', type: 'varchar', length: '64' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'target', type: 'varchar', length: '200' },
          { name: 'before', type: 'text', isNullable: true },
          { name: 'after', type: 'text', isNullable: true },
          { name: 'request_id', type: 'varchar', length: '128', isNullable: true },
        ],
        indices: [new TableIndex({ name: 'IDX_audit_entry_at', columnNames: ['at', 'id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_entry');
    await queryRunner.dropTable('job_run');
    await queryRunner.dropTable('scheduler_job');
  }
}

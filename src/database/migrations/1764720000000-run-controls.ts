import { MigrationInterface, QueryRunner, TableCheck, TableColumn } from 'typeorm';
import { columnTypes } from './column-types';

const RUN_STATUSES_BEFORE = `'running', 'succeeded', 'failed', 'abandoned', 'skipped'`;
const RUN_TRIGGERS_BEFORE = `'scheduled', 'catch-up', 'manual', 'cli'`;
const REPORT_STATUSES_BEFORE = `'running', 'succeeded', 'failed', 'abandoned'`;

/**
 * The controls of a run: cancel, timeout, overlap policies, backfill, pause with a note, pause
 * after failures. New run statuses (queued, cancelled, timed_out) and trigger (backfill); a run's
 * progress and deadline; a job's options. Existing jobs that allowed several runs at once keep
 * doing so (overlap "allow"); every other job keeps today's "skip".
 */
export class RunControls1764720000000 implements MigrationInterface {
  name = 'RunControls1764720000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const { timestamp } = columnTypes(queryRunner);
    await queryRunner.addColumns('scheduler_job', [
      new TableColumn({ name: 'overlap', type: 'varchar', length: '16', default: `'skip'` }),
      new TableColumn({ name: 'max_runtime_seconds', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'pause_after_failures', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'pause_note', type: 'varchar', length: '500', isNullable: true }),
    ]);
    await queryRunner.query(`UPDATE scheduler_job SET overlap = 'allow' WHERE max_instances > 1`);
    await queryRunner.createCheckConstraint(
      'scheduler_job',
      new TableCheck({ name: 'CHK_scheduler_job_overlap', expression: `"overlap" IN ('skip', 'buffer_one', 'cancel_other', 'allow')` }),
    );

    await queryRunner.addColumns('job_run', [
      new TableColumn({ name: 'progress', type: 'text', isNullable: true }),
      new TableColumn({ name: 'deadline_at', ...timestamp, isNullable: true }),
    ]);
    await this.replaceCheck(
      queryRunner,
      'job_run',
      'CHK_job_run_status',
      `"status" IN (${RUN_STATUSES_BEFORE}, 'queued', 'cancelled', 'timed_out')`,
    );
    await this.replaceCheck(queryRunner, 'job_run', 'CHK_job_run_trigger', `"trigger" IN (${RUN_TRIGGERS_BEFORE}, 'backfill')`);
    await this.replaceCheck(
      queryRunner,
      'cleanup_report',
      'CHK_cleanup_report_status',
      `"status" IN (${REPORT_STATUSES_BEFORE}, 'cancelled', 'timed_out')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Rows in the new states have no meaning before this migration: they read as what they were closest to.
    await queryRunner.query(`UPDATE cleanup_report SET status = 'abandoned' WHERE status IN ('cancelled', 'timed_out')`);
    await queryRunner.query(`UPDATE job_run SET status = 'skipped' WHERE status = 'queued'`);
    await queryRunner.query(`UPDATE job_run SET status = 'failed' WHERE status IN ('cancelled', 'timed_out')`);
    await queryRunner.query(`UPDATE job_run SET "trigger" = 'manual' WHERE "trigger" = 'backfill'`);
    await this.replaceCheck(queryRunner, 'cleanup_report', 'CHK_cleanup_report_status', `"status" IN (${REPORT_STATUSES_BEFORE})`);
    await this.replaceCheck(queryRunner, 'job_run', 'CHK_job_run_trigger', `"trigger" IN (${RUN_TRIGGERS_BEFORE})`);
    await this.replaceCheck(queryRunner, 'job_run', 'CHK_job_run_status', `"status" IN (${RUN_STATUSES_BEFORE})`);
    await queryRunner.dropColumns('job_run', ['progress', 'deadline_at']);
    await queryRunner.dropCheckConstraint('scheduler_job', 'CHK_scheduler_job_overlap');
    await queryRunner.dropColumns('scheduler_job', ['overlap', 'max_runtime_seconds', 'pause_after_failures', 'pause_note']);
  }

  private async replaceCheck(queryRunner: QueryRunner, table: string, name: string, expression: string): Promise<void> {
    await queryRunner.dropCheckConstraint(table, name);
    await queryRunner.createCheckConstraint(table, new TableCheck({ name, expression }));
  }
}

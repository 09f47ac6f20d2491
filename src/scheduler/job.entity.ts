import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * What a fire does when the job already runs as many runs as it may (Temporal's meanings):
 * - skip: it is recorded skipped;
 * - buffer_one: it waits, as the job's one buffered fire; a later fire replaces it (coalesces);
 * - cancel_other: the oldest running run is cancelled and the fire starts;
 * - allow: several run at once, up to maxInstances; beyond, skipped.
 * maxInstances caps every policy, and only `allow` uses more than 1.
 */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'cancel_other', 'allow'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/**
 * A scheduled job: which registered task it runs, on which cron in which zone, and its options.
 * Stored, so a change made through the admin API on one replica reaches every replica.
 */
@Entity('scheduler_job')
export class SchedulerJob {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 32 })
  task: string;

  @Column({ type: 'varchar', length: 200 })
  cron: string;

  @Column({ type: 'varchar', length: 64 })
  timezone: string;

  @Column({ type: 'boolean', default: false })
  paused: boolean;

  @Column({ name: 'max_instances', type: 'integer', default: 1 })
  maxInstances: number;

  @Column({ name: 'coalesce_runs', type: 'boolean', default: true })
  coalesce: boolean;

  /** How late a fire may still run; null: no limit. */
  @Column({ name: 'misfire_grace_seconds', type: 'integer', nullable: true })
  misfireGraceSeconds: number | null;

  @Column({ type: 'varchar', length: 16, default: 'skip' })
  overlap: OverlapPolicy;

  /** A run still running after this many seconds is stopped and ends timed_out; null: no limit. */
  @Column({ name: 'max_runtime_seconds', type: 'integer', nullable: true })
  maxRuntimeSeconds: number | null;

  /** After this many consecutive failed (or timed-out) runs the job pauses itself; null: never. */
  @Column({ name: 'pause_after_failures', type: 'integer', nullable: true })
  pauseAfterFailures: number | null;

  /** Why the job is paused (an operator's note, or the scheduler's after failures); null when running. */
  @Column({ name: 'pause_note', type: 'varchar', length: 500, nullable: true })
  pauseNote: string | null;

  @Column({ type: 'boolean', default: false })
  builtin: boolean;

  @Column({ name: 'schedule_overridden', type: 'boolean', default: false })
  scheduleOverridden: boolean;

  /** Bumped on every change; replicas re-arm a job when its version moves. */
  @Column({ type: 'integer', default: 1 })
  version: number;

  @Column({ name: 'created_at' })
  createdAt: Date;

  /** Catch-up never reaches back before this: fires before a job was changed belong to its old schedule. */
  @Column({ name: 'updated_at' })
  updatedAt: Date;
}

import { Column, Entity, PrimaryColumn } from 'typeorm';

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

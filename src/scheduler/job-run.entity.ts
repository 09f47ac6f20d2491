import { Column, Entity, PrimaryColumn } from 'typeorm';

export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'abandoned', 'skipped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RUN_TRIGGERS = ['scheduled', 'catch-up', 'manual', 'cli'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/** One row of the run ledger: every run of every job, whoever started it, and how it ended. */
@Entity('job_run')
export class JobRun {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'job_id', type: 'varchar', length: 64 })
  jobId: string;

  @Column({ type: 'varchar', length: 32 })
  task: string;

  @Column({ name: 'scheduled_for' })
  scheduledFor: Date;

  @Column({ name: 'fire_key', type: 'varchar', length: 40, nullable: true })
  fireKey: string | null;

  @Column({ type: 'integer', default: 1 })
  attempt: number;

  @Column({ type: 'varchar', length: 16 })
  trigger: RunTrigger;

  /** "scheduler" for scheduled and catch-up runs, the API key's role for manual ones, "cli". */
  @Column({ name: 'triggered_by', type: 'varchar', length: 64 })
  triggeredBy: string;

  @Column({ type: 'varchar', length: 16 })
  status: RunStatus;

  /** The replica running it (host:pid:random). */
  @Column({ type: 'varchar', length: 160, nullable: true })
  owner: string | null;

  @Column({ name: 'started_at' })
  startedAt: Date;

  @Column({ name: 'heartbeat_at' })
  heartbeatAt: Date;

  /** Until when the owner holds the run; past it (by the database's clock) the run is abandoned. */
  @Column({ name: 'lease_until', type: Date, nullable: true })
  leaseUntil: Date | null;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs: number | null;

  @Column({ type: 'simple-json', nullable: true })
  summary: Record<string, unknown> | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;
}

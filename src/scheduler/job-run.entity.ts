import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * queued: waiting for room under the job's overlap policy (a buffered fire, a backfill fire);
 * running; then one final status. cancelled, timed_out and abandoned are set by whoever takes the
 * run away (an operator, the run's deadline, the reaper or a shutdown): that one write ends the run
 * in the ledger and, by the fence, stops its writes.
 */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'abandoned', 'skipped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The statuses a run ends in. */
export const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'timed_out', 'abandoned', 'skipped'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
/** The statuses that take a running run away from its owner. */
export type TakenAwayStatus = Extract<RunStatus, 'cancelled' | 'timed_out' | 'abandoned'>;
export const RUN_TRIGGERS = ['scheduled', 'catch-up', 'manual', 'cli', 'backfill'] as const;
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

  /** How far a running run has got, written every few seconds while it runs (RunExecutor.watch). */
  @Column({ type: 'simple-json', nullable: true })
  progress: RunProgress | null;

  /** When a run with maxRuntimeSeconds times out (the app clock of the replica that started it). */
  @Column({ name: 'deadline_at', type: Date, nullable: true })
  deadlineAt: Date | null;
}

export interface RunProgress {
  done: number;
  total?: number;
  unit: string;
}

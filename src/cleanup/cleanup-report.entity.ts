import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { DroppedPartition } from '../partitions/message-partitions';

export const CLEANUP_STATUSES = ['running', 'succeeded', 'failed', 'abandoned', 'cancelled', 'timed_out'] as const;
export type CleanupStatus = (typeof CLEANUP_STATUSES)[number];
export type CleanupTrigger = 'scheduled' | 'catch-up' | 'manual' | 'cli' | 'backfill';

export interface CleanupPolicy {
  retentionDays: number;
  /** Shorter retentions chosen by guardians, with the cutoff each one gives this run. */
  shorter: { retentionDays: number; cutoff: string }[];
}

/**
 * Evidence of one cleanup run: when, under which policy, what it deleted, how it went. Never holds
 * message text or anything that names a child.
 */
@Entity('cleanup_report')
export class CleanupReport {
  @PrimaryColumn('uuid')
  id: string;

  /** The run's scheduled time, from which the cutoffs are computed. */
  @Column({ name: 'scheduled_for' })
  scheduledFor: Date;

  @Column({ type: 'varchar', length: 16 })
  trigger: CleanupTrigger;

  /** Who started it: the API role for manual runs, "scheduler" or "cli" otherwise. */
  @Column({ name: 'triggered_by', type: 'varchar', length: 32 })
  triggeredBy: string;

  @Column({ name: 'dry_run', type: 'boolean', default: false })
  dryRun: boolean;

  @Column({ type: 'varchar', length: 16 })
  status: CleanupStatus;

  @Column({ type: 'simple-json' })
  policy: CleanupPolicy;

  @Column()
  cutoff: Date;

  @Column({ name: 'messages_deleted', type: 'integer', default: 0 })
  messagesDeleted: number;

  @Column({ name: 'conversations_deleted', type: 'integer', default: 0 })
  conversationsDeleted: number;

  @Column({ type: 'integer', default: 0 })
  batches: number;

  @Column({ name: 'batch_size', type: 'integer' })
  batchSize: number;

  @Column({ name: 'max_batch_ms', type: 'integer', default: 0 })
  maxBatchMs: number;

  /**
   * PostgreSQL: the days this run dropped as whole partitions, each with the rows it held (counted
   * in messagesDeleted too). Null when it dropped none.
   */
  @Column({ type: 'simple-json', nullable: true })
  partitions: DroppedPartition[] | null;

  @Column({ name: 'started_at' })
  startedAt: Date;

  /** Moved forward while the run makes progress; a running report whose heartbeat stops was abandoned. */
  @Column({ name: 'heartbeat_at' })
  heartbeatAt: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'duration_ms', type: 'integer', nullable: true })
  durationMs: number | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;
}

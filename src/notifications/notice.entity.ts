import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Locale } from '../records/guardian.entity';

export const NOTICE_STATUSES = ['pending', 'sent', 'failed', 'dead'] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

export const CHANNEL_NAMES = ['log', 'smtp', 'webhook'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

/** What one child loses in one cleanup run. Counts and a display name only: never message text. */
export interface ChildCounts {
  childId: string;
  displayName: string;
  messages: number;
  conversations: number;
}

/**
 * One guardian's warning about one upcoming cleanup run, and its delivery state (the outbox row).
 * Unique on (guardian, cleanup run time).
 */
@Entity('notice')
export class Notice {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'guardian_id', type: 'uuid' })
  guardianId: string;

  /** The scheduled time of the cleanup run this notice warns about. */
  @Column({ name: 'cleanup_at' })
  cleanupAt: Date;

  @Column({ type: 'varchar', length: 2 })
  locale: Locale;

  /** The channels it goes out on, comma-separated (e.g. "smtp" or "smtp,webhook"), fixed at enqueue. */
  @Column({ type: 'varchar', length: 32 })
  channel: string;

  /** Channels that already took it, so a retry after a partial failure does not send twice. */
  @Column({ name: 'delivered_channels', type: 'varchar', length: 32, default: '' })
  deliveredChannels: string;

  @Column({ type: 'varchar', length: 16 })
  status: NoticeStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at' })
  nextAttemptAt: Date;

  /** Set while a delivery worker holds the notice; the lease ends at claimedUntil. */
  @Column({ name: 'claim_token', type: 'uuid', nullable: true })
  claimToken: string | null;

  @Column({ name: 'claimed_until', type: Date, nullable: true })
  claimedUntil: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ type: 'simple-json' })
  children: ChildCounts[];

  @Column({ type: 'integer' })
  messages: number;

  @Column({ type: 'integer' })
  conversations: number;

  @Column({ name: 'sent_at', type: Date, nullable: true })
  sentAt: Date | null;

  @Column({ name: 'created_at' })
  createdAt: Date;
}

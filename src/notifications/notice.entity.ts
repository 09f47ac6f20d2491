import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Locale, NoticeFrequency } from '../records/guardian.entity';

/** 'suppressed': never sent, the record of what a guardian with notices off was not told (the family history shows it). */
export const NOTICE_STATUSES = ['pending', 'sent', 'failed', 'dead', 'suppressed'] as const;
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
 * What one notice announces for one child and one deletion date (in the guardian's zone): the messages
 * deleted that day, from how many conversations. `late`: data that arrived (a backdated import) after an
 * earlier notice had covered its date.
 */
export interface NoticeGroup {
  childId: string;
  displayName: string;
  /** The deletion date, YYYY-MM-DD in the notice's zone. */
  date: string;
  /** The first cleanup run that deletes any of it. */
  deleteAt: string;
  messages: number;
  conversations: number;
  late: boolean;
}

/**
 * One guardian's warning about their upcoming deletions (a digest, or one notice run's worth), and its
 * delivery state (the outbox row). Unique on (guardian, seq): seq is the guardian's coverage revision
 * the notice moved (see NoticeService), so two runs can never both announce the same records.
 */
@Entity('notice')
export class Notice {
  @PrimaryColumn('uuid')
  id: string;

  @Column({ name: 'guardian_id', type: 'uuid' })
  guardianId: string;

  /** The first cleanup run that deletes anything this notice announces. */
  @Column({ name: 'cleanup_at' })
  cleanupAt: Date;

  /** The guardian's n-th notice (the revision of their coverage it made). */
  @Column({ type: 'integer' })
  seq: number;

  /**
   * Every deletion of the family's data before this time was announced by this notice or an earlier one.
   * Null on per-run notices from before digests.
   */
  @Column({ name: 'covers_until', type: Date, nullable: true })
  coversUntil: Date | null;

  /** Per child and deletion date. Null on per-run notices from before digests (one date: cleanupAt). */
  @Column({ type: 'simple-json', nullable: true })
  groups: NoticeGroup[] | null;

  /** Some of it is deleted less than NOTICE_DAYS_BEFORE after the notice (late data, a shortened retention, a late run). */
  @Column({ name: 'short_notice', type: 'boolean', default: false })
  shortNotice: boolean;

  @Column({ type: 'varchar', length: 16 })
  frequency: NoticeFrequency;

  /** The IANA zone its dates are in, fixed at enqueue (null on notices from before digests: the guardian's). */
  @Column({ name: 'time_zone', type: 'varchar', length: 64, nullable: true })
  timeZone: string | null;

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

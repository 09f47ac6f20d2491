import { Column, Entity, PrimaryColumn } from 'typeorm';

export const LOCALES = ['en', 'ar'] as const;
export type Locale = (typeof LOCALES)[number];

export const NOTICE_FREQUENCIES = ['digest', 'each_run'] as const;
export type NoticeFrequency = (typeof NOTICE_FREQUENCIES)[number];

// Date columns carry no explicit type: TypeORM maps Date to `datetime` on SQLite (UTC text,
// 'YYYY-MM-DD HH:MM:SS.SSS', which sorts chronologically), and the migration makes them
// `timestamptz` on PostgreSQL. The migrations, not these classes, define the schema.

/** A parent: the person told before their children's data is deleted. */
@Entity('guardian')
export class Guardian {
  @PrimaryColumn('uuid')
  id: string;

  /** Stored trimmed and lower-cased; unique. */
  @Column({ type: 'varchar', length: 320 })
  email: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100 })
  displayName: string;

  @Column({ type: 'varchar', length: 2, default: 'en' })
  locale: Locale;

  /** A shorter retention chosen by the guardian (1..RETENTION_DAYS); null means the service default. */
  @Column({ name: 'retention_days', type: 'integer', nullable: true })
  retentionDays: number | null;

  @Column({ name: 'notifications_enabled', type: 'boolean', default: true })
  notificationsEnabled: boolean;

  /** IANA zone the dates of this guardian's notices are written in; null means SCHEDULER_TIMEZONE (UTC when unset). */
  @Column({ name: 'time_zone', type: 'varchar', length: 64, nullable: true })
  timezone: string | null;

  /**
   * 'digest': at most one notice per NOTICE_DIGEST_DAYS, covering every deletion until the next one;
   * 'each_run': a notice at each notice run that precedes a deletion.
   */
  @Column({ name: 'notice_frequency', type: 'varchar', length: 16, default: 'digest' })
  noticeFrequency: NoticeFrequency;

  @Column({ name: 'created_at' })
  createdAt: Date;
}

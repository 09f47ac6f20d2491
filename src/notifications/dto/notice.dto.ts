import { ApiProperty } from '@nestjs/swagger';
import { LOCALES, Locale, NOTICE_FREQUENCIES, NoticeFrequency } from '../../records/guardian.entity';
import { NOTICE_STATUSES, NoticeStatus } from '../notice.entity';

const UUID = '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90';

export class ChildCountsDto {
  @ApiProperty({ format: 'uuid', example: UUID }) childId: string;
  @ApiProperty({ example: 'Omar' }) displayName: string;
  @ApiProperty({ example: 42 }) messages: number;
  @ApiProperty({ example: 3 }) conversations: number;
}

export class NoticeGroupDto {
  @ApiProperty({ format: 'uuid', example: UUID }) childId: string;
  @ApiProperty({ example: 'Omar' }) displayName: string;
  @ApiProperty({ example: '2026-12-03', description: "The deletion date in the notice's zone" }) date: string;
  @ApiProperty({ example: '2026-12-03T00:00:00.000Z', description: 'The first cleanup run that deletes any of it' }) deleteAt: string;
  @ApiProperty({ example: 42 }) messages: number;
  @ApiProperty({ example: 3, description: 'The conversations those messages are from' }) conversations: number;
  @ApiProperty({ example: false, description: 'Arrived (a backdated import) after an earlier notice had covered this date' }) late: boolean;
}

export class NoticeDto {
  @ApiProperty({ format: 'uuid', example: UUID }) id: string;
  @ApiProperty({ format: 'uuid', example: UUID }) guardianId: string;
  @ApiProperty({ example: '2026-12-02T00:00:00.000Z', description: 'The first deletion it announces' }) cleanupAt: Date;
  @ApiProperty({ example: 3, description: "The guardian's n-th notice" }) seq: number;
  @ApiProperty({
    type: Date,
    nullable: true,
    example: '2026-12-10T23:00:00.000Z',
    description: 'Every deletion before this was announced by this notice or an earlier one (null: a per-run notice from before digests)',
  })
  coversUntil: Date | null;
  @ApiProperty({ enum: NOTICE_FREQUENCIES, example: 'digest' }) frequency: NoticeFrequency;
  @ApiProperty({ type: String, nullable: true, example: 'Asia/Riyadh', description: 'The zone its dates are written in' }) timeZone:
    string | null;
  @ApiProperty({ example: false, description: 'Some of it is deleted less than NOTICE_DAYS_BEFORE after the notice' }) shortNotice: boolean;
  @ApiProperty({ type: () => [NoticeGroupDto], nullable: true, description: 'What it announces, per child and deletion date' })
  groups: NoticeGroupDto[] | null;
  @ApiProperty({ enum: LOCALES, example: 'ar' }) locale: Locale;
  @ApiProperty({ example: 'smtp', description: 'Channels it goes out on: log, smtp, webhook (comma-separated)' }) channel: string;
  @ApiProperty({ example: 'smtp', description: 'Channels that took it (a retry repeats only the others)' }) deliveredChannels: string;
  @ApiProperty({ enum: NOTICE_STATUSES, example: 'sent' }) status: NoticeStatus;
  @ApiProperty({ example: 1 }) attempts: number;
  @ApiProperty({ example: '2026-12-01T23:00:00.000Z' }) nextAttemptAt: Date;
  @ApiProperty({ type: String, nullable: true, example: null }) lastError: string | null;
  @ApiProperty({ type: Date, nullable: true, example: '2026-12-01T23:00:01.000Z' }) sentAt: Date | null;
  @ApiProperty({ example: '2026-12-01T23:00:00.000Z' }) createdAt: Date;
  @ApiProperty({ example: 42 }) messages: number;
  @ApiProperty({ example: 3 }) conversations: number;
  @ApiProperty({ type: [ChildCountsDto] }) children: ChildCountsDto[];
}

export class NoticePageDto {
  @ApiProperty({ type: [NoticeDto], description: 'Newest first' }) items: NoticeDto[];
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class DeliverySummaryDto {
  @ApiProperty({ example: 120, description: 'Notices taken for delivery' }) claimed: number;
  @ApiProperty({ example: 118 }) sent: number;
  @ApiProperty({ example: 2, description: 'Failed this time; retried later' }) failed: number;
  @ApiProperty({ example: 0, description: 'Out of attempts, or out of time before the deletion' }) dead: number;
  @ApiProperty({ example: 0, description: 'Undelivered when their deletion came: marked dead' }) expired: number;
  @ApiProperty({ example: false, description: 'The pass stopped at its time budget; the poller sends the rest' }) more: boolean;
  @ApiProperty({ example: 840 }) durationMs: number;
}

export class NoticeJobDto {
  @ApiProperty({ example: '2026-12-01T23:00:00.000Z', description: 'The time the notice run stood at' }) at: string;
  @ApiProperty({ example: '2026-12-02T23:00:00.000Z', description: 'The next notice run: the last chance for what this one did not tell' })
  nextNoticeAt: string;
  @ApiProperty({
    example: '2026-12-10T23:00:00.000Z',
    description:
      "This run's digests announce every deletion before this time (the notice run NOTICE_DIGEST_DAYS on, plus NOTICE_DAYS_BEFORE)",
  })
  windowUntil: string;
  @ApiProperty({ example: 120, description: 'Guardians with notices on who must be told now' }) noticesDue: number;
  @ApiProperty({ example: 120 }) noticesCreated: number;
  @ApiProperty({ example: 0, description: 'Told meanwhile by a run that raced this one (another replica, a manual run)' })
  noticesExisting: number;
  @ApiProperty({ example: 4, description: "Guardians with notices off and deletions ahead: recorded as 'suppressed' notices, not sent" })
  skippedGuardians: number;
  @ApiProperty({ example: 0, description: 'Notices created with a deletion less than NOTICE_DAYS_BEFORE ahead (late data, a late run)' })
  shortNotices: number;
  @ApiProperty({ example: 310 }) durationMs: number;
  @ApiProperty({ type: DeliverySummaryDto }) delivery: DeliverySummaryDto;
}

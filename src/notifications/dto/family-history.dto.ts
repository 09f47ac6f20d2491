import { ApiProperty } from '@nestjs/swagger';
import { NOTICE_STATUSES } from '../notice.entity';

const UUID = '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90';

export class StoredDto {
  @ApiProperty({ example: 2 }) children: number;
  @ApiProperty({ example: 310 }) messages: number;
  @ApiProperty({ type: Date, nullable: true, example: '2026-10-30T08:00:00.000Z' }) oldestMessageAt: Date | null;
}

export class TellingDto {
  @ApiProperty({ format: 'uuid', example: UUID }) noticeId: string;
  @ApiProperty({ example: '2026-12-02T00:00:00.000Z', description: 'The first deletion the notice announced' }) cleanupAt: Date;
  @ApiProperty({ enum: NOTICE_STATUSES, example: 'sent' }) status: string;
  @ApiProperty({ example: 'smtp' }) channel: string;
  @ApiProperty({ type: Date, nullable: true, example: '2026-11-30T23:00:01.000Z', description: 'When it was delivered' })
  sentAt: Date | null;
  @ApiProperty({ example: 42, description: 'Messages it announced' }) messages: number;
  @ApiProperty({ example: 3 }) conversations: number;
  @ApiProperty({
    type: Object,
    nullable: true,
    description: 'The cleanup run at cleanupAt, if it has run: its report id, status and finish time',
    example: null,
  })
  cleanup: { reportId: string; status: string; trigger: string; finishedAt: Date | null } | null;
}

export const ANNOUNCEMENTS = ['sent', 'sent_late', 'pending', 'undelivered', 'notices_off'] as const;
export type Announcement = (typeof ANNOUNCEMENTS)[number];

export class DeletionDto {
  @ApiProperty({ example: '2026-12-03', description: "The deletion date in the family's zone" }) date: string;
  @ApiProperty({ example: '2026-12-03T00:00:00.000Z', description: 'The first cleanup run that deletes it' }) deleteAt: Date;
  @ApiProperty({ format: 'uuid', example: UUID }) childId: string;
  @ApiProperty({ example: 'Omar' }) displayName: string;
  @ApiProperty({ example: 42 }) messages: number;
  @ApiProperty({ example: 3 }) conversations: number;
  @ApiProperty({ example: false, description: 'Arrived (a backdated import) after an earlier notice had covered this date' }) late: boolean;
  @ApiProperty({ format: 'uuid', example: UUID, description: 'The notice that announced it' }) noticeId: string;
  @ApiProperty({ type: Date, nullable: true, example: '2026-11-30T23:00:01.000Z', description: 'When that notice was delivered' })
  noticeSentAt: Date | null;
  @ApiProperty({
    enum: ANNOUNCEMENTS,
    example: 'sent',
    description:
      'sent: delivered before the deletion; sent_late: delivered after it; pending: not yet delivered, the deletion still ahead; ' +
      'undelivered: never reached the family (no notice before this deletion); notices_off: the family turned notices off (no notice before it)',
  })
  announcement: Announcement;
  @ApiProperty({ type: Object, nullable: true, description: 'The cleanup run at deleteAt, if it has run', example: null })
  cleanup: { reportId: string; status: string; trigger: string; finishedAt: Date | null } | null;
}

export class ErasureDto {
  @ApiProperty({ example: '2026-11-28T09:31:00.000Z' }) erasedAt: Date;
  @ApiProperty({ example: 'ingest' }) erasedBy: string;
  @ApiProperty({ example: 1 }) children: number;
  @ApiProperty({ example: 4 }) conversations: number;
  @ApiProperty({ example: 120 }) messages: number;
}

export class FamilyHistoryDto {
  @ApiProperty({ format: 'uuid', example: UUID }) guardianId: string;
  @ApiProperty({ example: true, description: 'false once the family has been erased' }) exists: boolean;
  @ApiProperty({ type: StoredDto, nullable: true, description: 'What is stored now' }) stored: StoredDto | null;
  @ApiProperty({
    type: [DeletionDto],
    description: 'Every deletion a notice run saw coming, latest first, with the notice that announced it',
  })
  deletions: DeletionDto[];
  @ApiProperty({ type: [TellingDto], description: 'Every deletion notice, newest first, with the cleanup of its first deletion' })
  notices: TellingDto[];
  @ApiProperty({ type: [ErasureDto], description: 'Erasures on request' }) erasures: ErasureDto[];
}

import { ApiProperty } from '@nestjs/swagger';
import { LOCALES, Locale, NOTICE_FREQUENCIES, NoticeFrequency } from '../guardian.entity';
import { MESSAGE_ROLES, MessageRole } from '../message.entity';

const UUID = '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90';

export class GuardianDto {
  @ApiProperty({ format: 'uuid', example: UUID }) id: string;
  @ApiProperty({ example: 'layla.hassan@example.com' }) email: string;
  @ApiProperty({ example: 'Layla' }) displayName: string;
  @ApiProperty({ enum: LOCALES, example: 'ar' }) locale: Locale;
  @ApiProperty({ example: 14, nullable: true, type: Number, description: 'null: the service default applies' })
  retentionDays: number | null;
  @ApiProperty({ example: true }) notificationsEnabled: boolean;
  @ApiProperty({ example: 'Asia/Riyadh', nullable: true, type: String, description: "null: the service's zone (SCHEDULER_TIMEZONE)" })
  timezone: string | null;
  @ApiProperty({ enum: NOTICE_FREQUENCIES, example: 'digest' }) noticeFrequency: NoticeFrequency;
  @ApiProperty({ example: '2026-11-28T09:30:00.000Z' }) createdAt: Date;
}

export class ChildDto {
  @ApiProperty({ format: 'uuid', example: UUID }) id: string;
  @ApiProperty({ format: 'uuid', example: UUID }) guardianId: string;
  @ApiProperty({ example: 'Omar' }) displayName: string;
  @ApiProperty({ example: '2026-11-28T09:30:00.000Z' }) createdAt: Date;
}

export class ConversationDto {
  @ApiProperty({ format: 'uuid', example: UUID }) id: string;
  @ApiProperty({ format: 'uuid', example: UUID }) childId: string;
  @ApiProperty({ example: '2026-11-28T09:30:00.000Z' }) startedAt: Date;
  @ApiProperty({ example: '2026-11-28T09:30:00.000Z' }) createdAt: Date;
}

export class MessageDto {
  @ApiProperty({ format: 'uuid', example: UUID }) id: string;
  @ApiProperty({ format: 'uuid', example: UUID }) conversationId: string;
  @ApiProperty({ enum: MESSAGE_ROLES, example: 'teddy' }) role: MessageRole;
  @ApiProperty({ example: 'Because air scatters blue light the most!' }) text: string;
  @ApiProperty({ example: '2026-11-28T09:30:06.000Z' }) createdAt: Date;
}

export class BatchMessageDto extends MessageDto {
  @ApiProperty({ example: true, description: 'false: a message with this id was already stored, and this is it' })
  created: boolean;
}

export class MessageBatchDto {
  @ApiProperty({ type: [BatchMessageDto], description: 'In the order sent' }) items: BatchMessageDto[];
  @ApiProperty({ example: 2 }) count: number;
  @ApiProperty({ example: 1, description: 'How many items this request stored; the others were stored by an earlier one' })
  createdCount: number;
}

export class ChildPageDto {
  @ApiProperty({ type: [ChildDto], description: 'Oldest first' }) items: ChildDto[];
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class ConversationPageDto {
  @ApiProperty({ type: [ConversationDto], description: 'Newest first' }) items: ConversationDto[];
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageDto], description: 'Oldest first' }) items: MessageDto[];
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Pass as ?cursor= for the next page; null on the last' })
  nextCursor: string | null;
}

export class ErasedCountsDto {
  @ApiProperty({ example: 1 }) guardians: number;
  @ApiProperty({ example: 2 }) children: number;
  @ApiProperty({ example: 31 }) conversations: number;
  @ApiProperty({ example: 1204 }) messages: number;
}

export class ErasureDto {
  @ApiProperty({ format: 'uuid', example: UUID }) guardianId: string;
  @ApiProperty({ example: '2026-11-28T09:31:00.000Z' }) erasedAt: Date;
  @ApiProperty({ type: ErasedCountsDto }) erased: ErasedCountsDto;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { ListQueryDto } from '../../common/list-query.dto';
import { IsTimestamp } from '../../common/validation';
import { PolicyDto } from './preview.dto';
import { CLEANUP_STATUSES } from '../cleanup-report.entity';

export class TriggerCleanupDto {
  @ApiPropertyOptional({ default: false, example: true, description: 'Count what would be deleted, delete nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({
    example: '2026-11-01T00:00:00Z',
    description: 'Run as the cleanup scheduled at this time (a catch-up); defaults to now. Never in the future.',
  })
  @IsOptional()
  @IsTimestamp()
  at?: string;
}

export class DroppedPartitionDto {
  @ApiProperty({ example: 'message_p20261029' }) name: string;
  @ApiProperty({ example: '2026-10-29T00:00:00.000Z' }) from: string;
  @ApiProperty({ example: '2026-10-30T00:00:00.000Z' }) to: string;
  @ApiProperty({ example: 1184, description: 'The messages the partition held when it was dropped (counted in messagesDeleted)' })
  messages: number;
  @ApiProperty({ example: 42 }) ms: number;
}

export class CleanupReportDto {
  @ApiProperty({ format: 'uuid', example: '5b0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a92' }) id: string;
  @ApiProperty({ example: '2026-11-29T00:00:00.000Z' }) scheduledFor: Date;
  @ApiProperty({ enum: ['scheduled', 'catch-up', 'manual', 'cli', 'backfill'], example: 'manual' }) trigger: string;
  @ApiProperty({ example: 'operator' }) triggeredBy: string;
  @ApiProperty({ example: false }) dryRun: boolean;
  @ApiProperty({ enum: CLEANUP_STATUSES, example: 'succeeded' }) status: string;
  @ApiProperty({ type: PolicyDto }) policy: PolicyDto;
  @ApiProperty({ example: '2026-10-30T00:00:00.000Z' }) cutoff: Date;
  @ApiProperty({ example: 1204 }) messagesDeleted: number;
  @ApiProperty({ example: 31 }) conversationsDeleted: number;
  @ApiProperty({ example: 2 }) batches: number;
  @ApiProperty({ example: 5000 }) batchSize: number;
  @ApiProperty({ example: 18 }) maxBatchMs: number;
  @ApiProperty({
    type: [DroppedPartitionDto],
    nullable: true,
    description: 'PostgreSQL: the days dropped as whole partitions, with what each held; null when none',
  })
  partitions: DroppedPartitionDto[] | null;
  @ApiProperty({ example: '2026-11-29T00:00:00.120Z' }) startedAt: Date;
  @ApiProperty({ example: '2026-11-29T00:00:00.410Z' }) heartbeatAt: Date;
  @ApiProperty({ type: Date, nullable: true, example: '2026-11-29T00:00:00.410Z' }) finishedAt: Date | null;
  @ApiProperty({ type: Number, nullable: true, example: 290 }) durationMs: number | null;
  @ApiProperty({ type: String, nullable: true, example: null }) error: string | null;
}

export class ReportsQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: CLEANUP_STATUSES })
  @IsOptional()
  @IsIn(CLEANUP_STATUSES)
  status?: string;
}

export class CleanupReportPageDto {
  @ApiProperty({ type: [CleanupReportDto], description: 'Newest first' }) items: CleanupReportDto[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor: string | null;
}

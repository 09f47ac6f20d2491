import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsTimestamp } from '../../common/validation';

export class PreviewQueryDto {
  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'Preview a run at this time instead of the next scheduled one' })
  @IsOptional()
  @IsTimestamp()
  at?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50, description: 'Breakdown rows per page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 1_000_000_000, default: 0, description: 'Breakdown rows to skip' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  offset?: number;
}

export class ShorterRetentionDto {
  @ApiProperty({ example: 7 }) retentionDays: number;
  @ApiProperty({ example: '2026-11-24T00:00:00.000Z' }) cutoff: string;
}

export class PolicyDto {
  @ApiProperty({ example: 30, description: 'RETENTION_DAYS' }) retentionDays: number;
  @ApiProperty({ type: [ShorterRetentionDto], description: 'Shorter retentions chosen by some guardians' }) shorter: ShorterRetentionDto[];
}

export class CountsDto {
  @ApiProperty({ example: 1204 }) messages: number;
  @ApiProperty({ example: 31 }) conversations: number;
}

export class BreakdownRowDto {
  @ApiProperty({ format: 'uuid', example: '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90' }) guardianId: string;
  @ApiProperty({ format: 'uuid', example: '9a1c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a91' }) childId: string;
  @ApiProperty({ example: 30 }) retentionDays: number;
  @ApiProperty({ example: 120 }) messages: number;
  @ApiProperty({ example: 4 }) conversationsWithExpiringMessages: number;
  @ApiProperty({ example: '2026-10-28T08:00:00.000Z' }) oldestMessageAt: string;
}

export class BreakdownDto {
  @ApiProperty({ type: [BreakdownRowDto], description: 'Per guardian and child, ordered by guardian id then child id' })
  items: BreakdownRowDto[];
  @ApiProperty({ example: 50 }) limit: number;
  @ApiProperty({ example: 0 }) offset: number;
  @ApiProperty({ type: Number, nullable: true, example: 50, description: 'Pass as ?offset= for the next page; null on the last' })
  nextOffset: number | null;
}

export class PreviewDto {
  @ApiProperty({ example: '2026-11-29T00:00:00.000Z', description: 'The run previewed' }) at: string;
  @ApiProperty({ example: true, description: 'true: the next scheduled run; false: the ?at= asked for' }) scheduled: boolean;
  @ApiProperty({ example: '2026-10-30T00:00:00.000Z', description: 'Records created at or before this go (service retention)' })
  cutoff: string;
  @ApiProperty({ type: PolicyDto }) policy: PolicyDto;
  @ApiProperty({ type: CountsDto, description: 'Exactly what the run would delete' }) counts: CountsDto;
  @ApiProperty({ type: String, nullable: true, example: '2026-10-28T08:00:00.000Z' }) oldestMessageAt: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 2692800 }) oldestMessageAgeSeconds: number | null;
  @ApiProperty({ type: BreakdownDto }) breakdown: BreakdownDto;
}

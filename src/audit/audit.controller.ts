import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiErrors } from '../common/api-errors.decorator';
import { ListQueryDto } from '../common/list-query.dto';
import { NoNul } from '../common/validation';
import { AuditService } from './audit.service';
import { Roles } from '../auth/roles.decorator';

class AuditQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ example: 'daily_data_cleanup', description: 'Only the changes to this target (e.g. a job id)' })
  @IsOptional()
  @IsString()
  @NoNul()
  @MaxLength(200)
  target?: string;
}

class AuditEntryDto {
  @ApiProperty({ format: 'uuid', example: '0f4f3b8e-3f7e-4b8a-9d61-8f1c2b6a7e90' }) id: string;
  @ApiProperty({ example: '2026-11-28T12:00:00.000Z' }) at: Date;
  @ApiProperty({ example: 'operator', description: 'The role of the key that made the change' }) actor: string;
  @ApiProperty({ example: 'job.update' }) action: string;
  @ApiProperty({ example: 'daily_data_cleanup' }) target: string;
  @ApiProperty({ type: Object, nullable: true, example: { cron: '0 0 * * *', paused: false } }) before: object | null;
  @ApiProperty({ type: Object, nullable: true, example: { cron: '0 2 * * *', paused: false } }) after: object | null;
  @ApiProperty({ type: String, nullable: true, example: 'f3a1c9d2-7b44-4e0e-8a55-1d2c3b4a5e6f' }) requestId: string | null;
}

class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' }) items: AuditEntryDto[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor: string | null;
}

@ApiTags('admin')
@Roles('viewer')
@Controller('admin/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'Changes made through the admin API (who, what, before and after), newest first' })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiErrors(400)
  listAuditEntries(@Query() query: AuditQueryDto): Promise<AuditPageDto> {
    return this.audit.list(query.limit ?? 50, query.cursor, query.target);
  }
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { ListQueryDto } from '../../common/list-query.dto';
import { NOTICE_STATUSES, NoticeStatus } from '../notice.entity';

export class ListNoticesQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ enum: NOTICE_STATUSES, example: 'failed' })
  @IsOptional()
  @IsIn(NOTICE_STATUSES, { message: `status must be one of ${NOTICE_STATUSES.join(', ')}` })
  status?: NoticeStatus;

  @ApiPropertyOptional({ format: 'uuid', example: '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90', description: "Only this guardian's notices" })
  @IsOptional()
  @IsUUID('all', { message: 'guardianId must be a UUID' })
  guardianId?: string;
}

import { Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../admin/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { ListNoticesQueryDto } from './dto/list-notices.dto';
import { NoticeJobDto, NoticePageDto } from './dto/notice.dto';
import { NoticeService } from './notice.service';

@ApiTags('admin')
@Roles('viewer')
@Controller('admin/notifications')
export class NotificationsController {
  constructor(private readonly notices: NoticeService) {}

  @Post('trigger')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the notice job now',
    description: 'Enqueues the notices owed for the cleanup runs in the next NOTICE_DAYS_BEFORE days (never twice), then runs a delivery pass.',
  })
  @ApiOkResponse({ type: NoticeJobDto })
  trigger(): Promise<NoticeJobDto> {
    return this.notices.runJob();
  }

  @Get()
  @ApiOperation({ summary: 'Deletion notices, newest first, paged by cursor' })
  @ApiOkResponse({ type: NoticePageDto })
  @ApiErrors(400)
  list(@Query() query: ListNoticesQueryDto): Promise<NoticePageDto> {
    return this.notices.list(query);
  }
}

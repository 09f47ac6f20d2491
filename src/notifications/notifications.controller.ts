import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { ListNoticesQueryDto } from './dto/list-notices.dto';
import { NoticePageDto } from './dto/notice.dto';
import { NoticeService } from './notice.service';

@ApiTags('admin')
@Roles('viewer')
@Controller('admin/notifications')
export class NotificationsController {
  constructor(private readonly notices: NoticeService) {}

  @Get()
  @ApiOperation({ summary: 'Deletion notices, newest first, paged by cursor' })
  @ApiOkResponse({ type: NoticePageDto })
  @ApiErrors(400)
  listNotices(@Query() query: ListNoticesQueryDto): Promise<NoticePageDto> {
    return this.notices.list(query);
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { CleanupReportPageDto, ReportsQueryDto } from './dto/cleanup-report.dto';
import { PreviewDto, PreviewQueryDto } from './dto/preview.dto';
import { PreviewService } from './preview.service';
import { ReportsService } from './reports.service';

@ApiTags('cleanup')
@Roles('viewer')
@Controller('admin')
export class CleanupController {
  constructor(
    private readonly previews: PreviewService,
    private readonly reports: ReportsService,
  ) {}

  @Get('data/preview')
  @ApiOperation({ summary: 'What the next scheduled cleanup (or one at ?at=) would delete: cutoff, policy, counts, breakdown' })
  @ApiOkResponse({ type: PreviewDto })
  @ApiErrors(400)
  preview(@Query() query: PreviewQueryDto): Promise<PreviewDto> {
    return this.previews.preview(query.at ? new Date(query.at) : undefined, query.limit ?? 50, query.offset ?? 0);
  }

  @Get('cleanup/reports')
  @ApiOperation({ summary: 'Cleanup reports (deletion evidence), newest first' })
  @ApiOkResponse({ type: CleanupReportPageDto })
  @ApiErrors(400)
  list(@Query() query: ReportsQueryDto): Promise<CleanupReportPageDto> {
    return this.reports.list(query.limit ?? 50, query.cursor, query.status);
  }
}

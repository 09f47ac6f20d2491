import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { CleanupReportPageDto, ReportsQueryDto } from './dto/cleanup-report.dto';
import { ReportsService } from './reports.service';

@ApiTags('cleanup')
@Roles('viewer')
@Controller('admin')
export class CleanupController {
  constructor(private readonly reports: ReportsService) {}

  @Get('cleanup/reports')
  @ApiOperation({ summary: 'Cleanup reports (deletion evidence), newest first' })
  @ApiOkResponse({ type: CleanupReportPageDto })
  @ApiErrors(400)
  listCleanupReports(@Query() query: ReportsQueryDto): Promise<CleanupReportPageDto> {
    return this.reports.list(query.limit ?? 50, query.cursor, query.status);
  }
}

import { BadRequestException, Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from '../admin/api-key.guard';
import { Roles } from '../admin/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { Clock } from '../common/clock';
import { ErrorResponseDto } from '../common/error-response.dto';
import { CleanupService } from './cleanup.service';
import { CleanupReportDto, CleanupReportPageDto, ReportsQueryDto, TriggerCleanupDto } from './dto/cleanup-report.dto';
import { PreviewDto, PreviewQueryDto } from './dto/preview.dto';
import { PreviewService } from './preview.service';
import { ReportsService } from './reports.service';

@ApiTags('cleanup')
@Roles('viewer')
@Controller('admin')
export class CleanupController {
  constructor(
    private readonly cleanup: CleanupService,
    private readonly previews: PreviewService,
    private readonly reports: ReportsService,
    private readonly clock: Clock,
  ) {}

  @Get('data/preview')
  @ApiOperation({ summary: 'What the next scheduled cleanup (or one at ?at=) would delete: cutoff, policy, counts, breakdown' })
  @ApiOkResponse({ type: PreviewDto })
  @ApiErrors(400)
  preview(@Query() query: PreviewQueryDto): Promise<PreviewDto> {
    return this.previews.preview(query.at ? new Date(query.at) : undefined, query.limit ?? 50, query.offset ?? 0);
  }

  @Post('scheduler/cleanup/trigger')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Run a cleanup now (optionally a dry run, or as of a past scheduled time); answers with its report' })
  @ApiOkResponse({ type: CleanupReportDto })
  @ApiConflictResponse({ description: 'A cleanup is already running', type: ErrorResponseDto })
  @ApiErrors(400)
  trigger(@Body() dto: TriggerCleanupDto, @Req() req: AuthedRequest): Promise<CleanupReportDto> {
    const at = dto.at ? new Date(dto.at) : undefined;
    if (at && at.getTime() > this.clock.now().getTime()) throw new BadRequestException('at must not be in the future');
    return this.cleanup.run({ at, trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun });
  }

  @Get('cleanup/reports')
  @ApiOperation({ summary: 'Cleanup reports (deletion evidence), newest first' })
  @ApiOkResponse({ type: CleanupReportPageDto })
  @ApiErrors(400)
  list(@Query() query: ReportsQueryDto): Promise<CleanupReportPageDto> {
    return this.reports.list(query.limit ?? 50, query.cursor, query.status);
  }
}

import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { PreviewDto, PreviewQueryDto } from '../cleanup/dto/preview.dto';
import { PreviewService } from '../cleanup/preview.service';
import { ApiErrors } from '../common/api-errors.decorator';
import { JobCatalogue } from './job-catalogue';

/**
 * The preview counts with cleanup's own predicates, but "the next cleanup" is a fact of the stored
 * jobs, which only the scheduler knows: so the route lives here and hands cleanup the calendar.
 */
@ApiTags('cleanup')
@Roles('viewer')
@Controller('admin')
export class PreviewController {
  constructor(
    private readonly previews: PreviewService,
    private readonly catalogue: JobCatalogue,
  ) {}

  @Get('data/preview')
  @ApiOperation({ summary: 'What the next scheduled cleanup (or one at ?at=) would delete: cutoff, policy, counts, breakdown' })
  @ApiOkResponse({ type: PreviewDto })
  @ApiErrors(400)
  previewCleanup(@Query() query: PreviewQueryDto): Promise<PreviewDto> {
    return this.previews.preview(
      query.at ? new Date(query.at) : undefined,
      this.catalogue.cleanupCalendar(),
      query.limit ?? 50,
      query.offset ?? 0,
    );
  }
}

import { Controller, Get } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { UuidParam } from '../common/uuid-param';
import { FamilyHistoryDto } from './dto/family-history.dto';
import { FamilyHistoryService } from './family-history.service';

@ApiTags('admin')
@Roles('viewer')
@Controller('admin/families')
export class FamilyHistoryController {
  constructor(private readonly families: FamilyHistoryService) {}

  @Get(':guardianId/history')
  @ApiOperation({
    summary: "When this family's data was (or will be) deleted, and when they were told",
    description: 'Notices with their delivery and the cleanup run each announced, erasures on request, and what is stored now.',
  })
  @ApiOkResponse({ type: FamilyHistoryDto })
  @ApiNotFoundResponse({ description: 'Nothing on record for this guardian', type: ErrorResponseDto })
  @ApiErrors(400)
  getFamilyHistory(@UuidParam('guardianId') guardianId: string): Promise<FamilyHistoryDto> {
    return this.families.history(guardianId);
  }
}

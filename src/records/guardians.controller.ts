import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { auditActor } from '../audit/audit-actor';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { ListQueryDto } from '../common/list-query.dto';
import { UuidParam } from '../common/uuid-param';
import { answerCreated, RETRY_SAFE } from './client-id';
import { CreateChildDto } from './dto/create-child.dto';
import { CreateGuardianDto } from './dto/create-guardian.dto';
import { GuardianLookupDto } from './dto/guardian-lookup.dto';
import { ChildDto, ChildPageDto, ErasureDto, GuardianDto } from './dto/responses.dto';
import { UpdateGuardianDto } from './dto/update-guardian.dto';
import { GuardiansService } from './guardians.service';
import { RecordsService } from './records.service';

@ApiTags('ingest')
@Roles('ingest')
@Controller('v1/guardians')
export class GuardiansController {
  constructor(
    private readonly guardians: GuardiansService,
    private readonly records: RecordsService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Register a guardian (parent)', description: RETRY_SAFE })
  @ApiCreatedResponse({ type: GuardianDto, description: 'Registered' })
  @ApiOkResponse({ type: GuardianDto, description: 'A retry: this id was already registered with this content' })
  @ApiErrors(400, 409, 413)
  async createGuardian(@Body() dto: CreateGuardianDto, @Res({ passthrough: true }) res: Response): Promise<GuardianDto> {
    return answerCreated(res, await this.guardians.create(dto));
  }

  @Get()
  @ApiOperation({
    summary: 'Find a guardian by e-mail',
    description: 'For an app that registered a parent without keeping the id (a 409 on registration says the e-mail is taken).',
  })
  @ApiOkResponse({ type: GuardianDto })
  @ApiErrors(400, 404)
  findGuardianByEmail(@Query() query: GuardianLookupDto): Promise<GuardianDto> {
    return this.guardians.findByEmail(query.email);
  }

  @Get(':guardianId')
  @ApiOperation({ summary: 'Read a guardian' })
  @ApiOkResponse({ type: GuardianDto })
  @ApiErrors(400, 404)
  getGuardian(@UuidParam('guardianId') guardianId: string): Promise<GuardianDto> {
    return this.guardians.get(guardianId);
  }

  @Patch(':guardianId')
  @ApiOperation({
    summary: "Change a guardian's settings",
    description:
      'Any of displayName, locale, retentionDays (null: the service default), notificationsEnabled, noticeFrequency (digest or each_run) and timezone (IANA; null: ' +
      "the service's, SCHEDULER_TIMEZONE), the zone the dates of their notices are written in. A shorter retention " +
      'applies from the next cleanup, and the next notice run announces it. Each change is in the audit log (GET /admin/audit).',
  })
  @ApiBody({
    type: UpdateGuardianDto,
    examples: {
      shorterRetention: { summary: 'Keep 14 days instead of the default', value: { retentionDays: 14 } },
      defaultRetention: { summary: 'Back to the service default', value: { retentionDays: null } },
      language: { summary: 'Notices in Arabic, and no more of them', value: { locale: 'ar', notificationsEnabled: false } },
      everyRun: { summary: 'A notice before each deletion instead of a weekly digest', value: { noticeFrequency: 'each_run' } },
    },
  })
  @ApiOkResponse({ type: GuardianDto })
  @ApiErrors(400, 404, 413)
  updateGuardian(
    @UuidParam('guardianId') guardianId: string,
    @Body() dto: UpdateGuardianDto,
    @Req() req: AuthedRequest,
  ): Promise<GuardianDto> {
    return this.guardians.update(guardianId, dto, auditActor(req));
  }

  @Get(':guardianId/children')
  @ApiOperation({ summary: "A guardian's children, oldest first, paged by cursor" })
  @ApiOkResponse({ type: ChildPageDto })
  @ApiErrors(400, 404)
  listChildren(@UuidParam('guardianId') guardianId: string, @Query() query: ListQueryDto): Promise<ChildPageDto> {
    return this.guardians.listChildren(guardianId, query.limit, query.cursor);
  }

  @Post(':guardianId/children')
  @ApiOperation({ summary: "Add a child to a guardian's family", description: RETRY_SAFE })
  @ApiCreatedResponse({ type: ChildDto, description: 'Added' })
  @ApiOkResponse({ type: ChildDto, description: 'A retry: this id was already stored with this content' })
  @ApiErrors(400, 404, 409, 413)
  async createChild(
    @UuidParam('guardianId') guardianId: string,
    @Body() dto: CreateChildDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ChildDto> {
    return answerCreated(res, await this.records.createChild(guardianId, dto));
  }

  @Delete(':guardianId')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Erase a guardian and all their children's data now (right to erasure)" })
  @ApiOkResponse({ type: ErasureDto })
  @ApiErrors(400, 404)
  eraseGuardian(@UuidParam('guardianId') guardianId: string, @Req() req: AuthedRequest): Promise<ErasureDto> {
    return this.guardians.erase(guardianId, auditActor(req));
  }
}

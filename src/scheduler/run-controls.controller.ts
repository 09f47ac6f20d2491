import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { UuidParam } from '../common/uuid-param';
import { auditActor } from '../audit/audit-actor';
import { BackfillDto, BackfillResultDto, JobRunDto } from './dto/job.dto';
import { toRunDto } from './dto/run-answer';
import { ApiJobNotFound, JobIdPipe } from './job-id.pipe';
import { MAX_BACKFILL_FIRES, RunControls } from './run-controls.service';

const ApiRunNotFound = ApiNotFoundResponse({ description: 'No such run (or older than JOB_RUN_RETENTION_DAYS)', type: ErrorResponseDto });

/** One run: look at it, cancel it. And backfill: run a range of a job's past fires through the ledger. */
@ApiTags('scheduler')
@Roles('viewer')
@Controller('admin/scheduler')
export class RunControlsController {
  constructor(private readonly controls: RunControls) {}

  @Get('runs/:runId')
  @ApiOperation({
    summary: 'One run from the ledger, with its progress',
    description: 'progress ({ done, total?, unit }) is written at least every 5 s while the run runs, and kept when it ends.',
  })
  @ApiOkResponse({ type: JobRunDto })
  @ApiErrors(400)
  @ApiRunNotFound
  async getRun(@UuidParam('runId') runId: string): Promise<JobRunDto> {
    return toRunDto(await this.controls.get(runId));
  }

  @Post('runs/:runId/cancel')
  @Roles('operator')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Cancel a running or queued run (audited)',
    description:
      'Through the database, so it reaches whichever replica runs it: the run is marked cancelled at once and can write nothing more; its task stops within about a second. A cancelled cleanup keeps what it already deleted, and its report says how far it got.',
  })
  @ApiAcceptedResponse({ type: JobRunDto, description: 'The run, now cancelled' })
  @ApiConflictResponse({ description: 'The run has already ended', type: ErrorResponseDto })
  @ApiErrors(400)
  @ApiRunNotFound
  async cancelRun(@UuidParam('runId') runId: string, @Req() req: AuthedRequest): Promise<JobRunDto> {
    return toRunDto(await this.controls.cancel(runId, auditActor(req)));
  }

  @Post('jobs/:id/backfill')
  @Roles('operator')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: `Run every fire of the job's schedule in [from, to) that the ledger does not have (audited; at most ${MAX_BACKFILL_FIRES} fires)`,
    description:
      'Trigger "backfill", oldest first, one after another (under overlap "allow", up to maxInstances at once). Idempotent: a fire already in the ledger, run or skipped, is not run again, so the same request twice runs nothing new. dryRun lists the fires and runs nothing. The answer comes once the fires are queued; follow them in the job\'s runs.',
  })
  @ApiOkResponse({ type: BackfillResultDto })
  @ApiErrors(400)
  @ApiJobNotFound
  backfillJob(@Param('id', JobIdPipe) id: string, @Body() dto: BackfillDto, @Req() req: AuthedRequest): Promise<BackfillResultDto> {
    return this.controls.backfill(id, { from: new Date(dto.from), to: new Date(dto.to), dryRun: dto.dryRun ?? false }, auditActor(req));
  }
}

import { BadRequestException, Body, Controller, HttpCode, HttpStatus, Param, Post, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Roles } from '../auth/roles.decorator';
import { CleanupReport } from '../cleanup/cleanup-report.entity';
import { TriggerCleanupDto } from '../cleanup/dto/cleanup-report.dto';
import { ApiErrors } from '../common/api-errors.decorator';
import { Clock } from '../common/clock';
import { ErrorResponseDto } from '../common/error-response.dto';
import { JobSummary } from '../notifications/notice.service';
import { TriggerJobDto, TriggerResultDto } from './dto/job.dto';
import { CleanupTriggerResultDto, NoticeTriggerResultDto, toRunDto, TriggerAnswer, withRun } from './dto/run-answer';
import { ApiJobNotFound, JobIdPipe } from './job-id.pipe';
import { CLEANUP_JOB_ID, NOTICE_JOB_ID } from './jobs';
import { SchedulerService } from './scheduler.service';

const Busy = (what: string) =>
  ApiConflictResponse({ description: `${what} is at max_instances; the message names the running run`, type: ErrorResponseDto });

/**
 * Every "run it now" route. They go through the scheduler rather than straight to the cleanup or
 * notice services so that a manual run is a run like any other: a row in the ledger, counted against
 * max_instances (a cleanup started by hand never races the scheduled one or the command line for the
 * same rows; the second gets a 409 naming the first), in the job's history, metrics and alerts.
 */
@Roles('operator')
@Controller('admin')
export class ManualTriggersController {
  constructor(
    private readonly engine: SchedulerService,
    private readonly clock: Clock,
  ) {}

  @Post('scheduler/jobs/:id/trigger')
  @ApiTags('scheduler')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Run a job now (recorded in the ledger); waits for the run and answers with it' })
  @ApiOkResponse({ type: TriggerResultDto })
  @Busy('The job')
  @ApiErrors(400)
  @ApiJobNotFound
  async trigger(@Param('id', JobIdPipe) id: string, @Body() dto: TriggerJobDto, @Req() req: AuthedRequest): Promise<TriggerResultDto> {
    const { run, result } = await this.engine.runNow(id, { trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun });
    return { run: toRunDto(run), result };
  }

  @Post('scheduler/cleanup/trigger')
  @ApiTags('scheduler')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the cleanup now (optionally a dry run, or as of a past scheduled time); answers with its report and its ledger run',
    description: `Runs ${CLEANUP_JOB_ID} by hand, through the run ledger: while it is at max_instances the answer is 409 naming the running run.`,
  })
  @ApiOkResponse({ type: CleanupTriggerResultDto })
  @Busy('A cleanup')
  @ApiErrors(400)
  async triggerCleanup(@Body() dto: TriggerCleanupDto, @Req() req: AuthedRequest): Promise<TriggerAnswer<CleanupReport>> {
    const at = dto.at ? new Date(dto.at) : undefined;
    if (at && at.getTime() > this.clock.now().getTime()) throw new BadRequestException('at must not be in the future');
    return withRun(
      await this.engine.runTask(CLEANUP_JOB_ID, 'cleanup', { trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun, at }),
    );
  }

  @Post('notifications/trigger')
  @ApiTags('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the notice job now',
    description: `Runs ${NOTICE_JOB_ID} by hand, through the run ledger: enqueues the notices owed for the cleanup runs in the next NOTICE_DAYS_BEFORE days (never twice), then runs a delivery pass.`,
  })
  @ApiOkResponse({ type: NoticeTriggerResultDto })
  @Busy('The notice job')
  async triggerNotices(@Req() req: AuthedRequest): Promise<TriggerAnswer<JobSummary>> {
    return withRun(await this.engine.runTask(NOTICE_JOB_ID, 'notices', { trigger: 'manual', triggeredBy: req.principal!.role }));
  }
}

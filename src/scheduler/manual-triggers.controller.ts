import { BadRequestException, Body, Controller, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiConflictResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Roles } from '../auth/roles.decorator';
import { CleanupReport } from '../cleanup/cleanup-report.entity';
import { TriggerCleanupDto } from '../cleanup/dto/cleanup-report.dto';
import { ApiErrors } from '../common/api-errors.decorator';
import { Clock } from '../common/clock';
import { ErrorResponseDto } from '../common/error-response.dto';
import { JobSummary } from '../notifications/notice.service';
import { RunAcceptedDto, TriggerJobDto, TriggerResultDto, WaitQueryDto } from './dto/job.dto';
import { CleanupTriggerResultDto, NoticeTriggerResultDto, toRunDto, TriggerAnswer, withRun } from './dto/run-answer';
import { ApiJobNotFound, JobIdPipe } from './job-id.pipe';
import { CLEANUP_JOB_ID, NOTICE_JOB_ID } from './jobs';
import type { RunResult } from './run-executor';
import { RunNowOptions, SchedulerService } from './scheduler.service';
import { TaskName } from './tasks';

const Accepted = ApiAcceptedResponse({
  type: RunAcceptedDto,
  description: 'With ?wait=false: the run has started; Location points to it (GET /admin/scheduler/runs/:runId)',
});

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
  @Accepted
  @Busy('The job')
  @ApiErrors(400)
  @ApiJobNotFound
  async triggerJob(
    @Param('id', JobIdPipe) id: string,
    @Body() dto: TriggerJobDto,
    @Query() query: WaitQueryDto,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TriggerResultDto | RunAcceptedDto> {
    const started = await this.start(
      id,
      undefined,
      { trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun },
      query,
      res,
    );
    if ('accepted' in started) return started.accepted;
    const { run, result } = await started.done;
    return { run: toRunDto(run), result };
  }

  /**
   * Starts the run; with ?wait=false answers 202 at once, with the run and a Location to follow it.
   * The run goes on either way: a client that stops waiting does not stop it.
   */
  private async start<R>(
    jobId: string,
    task: TaskName | undefined,
    options: RunNowOptions,
    query: WaitQueryDto,
    res: Response,
  ): Promise<{ done: Promise<RunResult<R>> } | { accepted: RunAcceptedDto }> {
    const { run, done } = await this.engine.startRun<R>(jobId, options, task);
    if (query.wait !== 'false') return { done };
    res.status(HttpStatus.ACCEPTED).location(`/admin/scheduler/runs/${run.id}`);
    return { accepted: { run: toRunDto(run) } };
  }

  @Post('scheduler/cleanup/trigger')
  @ApiTags('scheduler')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the cleanup now (optionally a dry run, or as of a past scheduled time); answers with its report and its ledger run',
    description: `Runs ${CLEANUP_JOB_ID} by hand, through the run ledger: while it is at max_instances the answer is 409 naming the running run.`,
  })
  @ApiOkResponse({ type: CleanupTriggerResultDto })
  @Accepted
  @Busy('A cleanup')
  @ApiErrors(400)
  async triggerCleanup(
    @Body() dto: TriggerCleanupDto,
    @Query() query: WaitQueryDto,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TriggerAnswer<CleanupReport> | RunAcceptedDto> {
    const at = dto.at ? new Date(dto.at) : undefined;
    if (at && at.getTime() > this.clock.now().getTime()) throw new BadRequestException('at must not be in the future');
    const options: RunNowOptions = { trigger: 'manual', triggeredBy: req.principal!.role, dryRun: dto.dryRun, at };
    const started = await this.start<CleanupReport>(CLEANUP_JOB_ID, 'cleanup', options, query, res);
    return 'accepted' in started ? started.accepted : withRun(await started.done);
  }

  @Post('notifications/trigger')
  @ApiTags('admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Run the notice job now',
    description: `Runs ${NOTICE_JOB_ID} by hand, through the run ledger: enqueues the notices owed for the cleanup runs in the next NOTICE_DAYS_BEFORE days (never twice), then runs a delivery pass.`,
  })
  @ApiOkResponse({ type: NoticeTriggerResultDto })
  @Accepted
  @Busy('The notice job')
  @ApiErrors(400)
  async triggerNotices(
    @Query() query: WaitQueryDto,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TriggerAnswer<JobSummary> | RunAcceptedDto> {
    const started = await this.start<JobSummary>(
      NOTICE_JOB_ID,
      'notices',
      { trigger: 'manual', triggeredBy: req.principal!.role },
      query,
      res,
    );
    return 'accepted' in started ? started.accepted : withRun(await started.done);
  }
}

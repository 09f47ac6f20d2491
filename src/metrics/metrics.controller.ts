import { Controller, Get, Req, Res, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Request, Response } from 'express';
import { presentedKey } from '../auth/api-key.guard';
import { Public } from '../auth/roles.decorator';
import { Env } from '../config/env.validation';
import { timingSafeEqual, createHash } from 'node:crypto';

const digest = (v: string) => createHash('sha256').update(v).digest();

/** /metrics in the Prometheus text format. Open, unless METRICS_TOKEN asks scrapers for a bearer token. */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController extends PrometheusController {
  private readonly tokenDigest?: Buffer;

  constructor(env: Env) {
    super();
    if (env.METRICS_TOKEN) this.tokenDigest = digest(env.METRICS_TOKEN);
  }

  @Get()
  override async index(@Res({ passthrough: true }) response: Response, @Req() request?: Request): Promise<string> {
    if (this.tokenDigest) {
      const presented = request ? presentedKey(request) : undefined;
      if (!presented || !timingSafeEqual(digest(presented), this.tokenDigest)) {
        throw new UnauthorizedException('METRICS_TOKEN is set: scrape with Authorization: Bearer <token>');
      }
    }
    return super.index(response);
  }
}

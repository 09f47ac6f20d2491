import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { APPLICATION_ERRORS, ERROR_TYPES, ErrorType } from './metric-names';

/** teddy_application_errors_total{type}; every type is exported from the start, at 0, so alerts see the series. */
@Injectable()
export class AppErrors {
  constructor(@InjectMetric(APPLICATION_ERRORS) private readonly counter: Counter<'type'>) {
    for (const type of ERROR_TYPES) counter.inc({ type }, 0);
  }

  count(type: ErrorType): void {
    this.counter.inc({ type });
  }
}

import { Global, Module, OnModuleInit } from '@nestjs/common';
import { makeCounterProvider, makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { APPLICATION_ERRORS, HTTP_DURATION } from './metric-names';
import { MetricsController } from './metrics.controller';
import { AppErrors } from './app-errors.service';

@Global()
@Module({
  imports: [PrometheusModule.register({ controller: MetricsController, defaultMetrics: { enabled: true } })],
  providers: [
    makeCounterProvider({
      name: APPLICATION_ERRORS,
      help: 'Errors by type: scheduled_cleanup, scheduled_notifications, scheduled_job (job failures), http (5xx answers)',
      labelNames: ['type'],
    }),
    makeHistogramProvider({
      name: HTTP_DURATION,
      help: 'HTTP request duration by method, matched route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    AppErrors,
  ],
  exports: [AppErrors, PrometheusModule],
})
export class MetricsModule implements OnModuleInit {
  /**
   * prom-client's defaults include three gauges named like counters (nodejs_active_*_total), which
   * `promtool check metrics` rejects. The same counts stay exported by type in nodejs_active_handles,
   * nodejs_active_requests and nodejs_active_resources.
   */
  onModuleInit(): void {
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      register.removeSingleMetric(name);
    }
  }
}

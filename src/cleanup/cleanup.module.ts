import { Module } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Gauge } from 'prom-client';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { fromSqlTimestamp } from '../database/sql';
import { BatchDeleter } from './batch-deleter.service';
import { CleanupController } from './cleanup.controller';
import { CleanupJobs } from './cleanup.jobs';
import { CLEANUP_DELETED, CleanupService } from './cleanup.service';
import { PreviewService } from './preview.service';
import { ReportsService } from './reports.service';
import { PartitionRetention, retentionStorageProvider, RowRetention } from './retention-storage';

const RETENTION = 'teddy_retention_seconds';

@Module({
  controllers: [CleanupController],
  providers: [
    CleanupService,
    CleanupJobs,
    BatchDeleter,
    RowRetention,
    PartitionRetention,
    retentionStorageProvider,
    PreviewService,
    ReportsService,
    makeCounterProvider({ name: CLEANUP_DELETED, help: 'Rows deleted by cleanup runs, by table', labelNames: ['table'] }),
    makeGaugeProvider({
      name: 'teddy_oldest_message_age_seconds',
      help: 'Age of the oldest stored message (0 when there is none); above RETENTION_DAYS means a cleanup is overdue',
      inject: [Database, Clock],
      // Read at scrape time: one index lookup on message(created_at). With the database down the
      // last value stays, so /metrics still answers (and the readiness probe reports the outage).
      async collect(this: { set(v: number): void }, db: Database, clock: Clock) {
        try {
          const [row] = await db.dataSource.query('SELECT MIN(created_at) AS oldest FROM message');
          const oldest = fromSqlTimestamp(row?.oldest);
          this.set(oldest ? Math.max(0, (clock.now().getTime() - oldest.getTime()) / 1000) : 0);
        } catch {
          // keep the previous value
        }
      },
    }),
    makeGaugeProvider({ name: RETENTION, help: 'RETENTION_DAYS in seconds: a cleanup run deletes the messages older than this' }),
  ],
  exports: [CleanupService, PreviewService],
})
export class CleanupModule {
  // Set here rather than in a collect() callback: the metric is one per process, and a callback would
  // keep reporting the first app's configuration (the test suite builds several apps per process).
  constructor(@InjectMetric(RETENTION) retention: Gauge, env: Env) {
    retention.set(env.RETENTION_DAYS * 86_400);
  }
}

import { DynamicModule, Module, Provider } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CleanupModule } from './cleanup/cleanup.module';
import { Clock } from './common/clock';
import { CommonModule } from './common/common.module';
import { ConsoleLog, loggerParams } from './common/logging';
import { ConfigModule } from './config/config.module';
import { Env } from './config/env.validation';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PartitionsModule } from './partitions/partitions.module';
import { RecordsModule } from './records/records.module';
import { SchedulerModule } from './scheduler/scheduler.module';

export interface AppOptions {
  env: Env;
  /** Defaults to the system clock; tests pass a FixedClock. */
  clock?: Clock;
  /** false: the scheduler arms no timers (tests drive it with a fake clock; the command line runs one job). */
  schedulerTimers?: boolean;
  /** Where log lines go besides LOG_FILE (default: stdout); the command line sends its warnings and errors to stderr. */
  logStream?: ConsoleLog;
  /** More providers for the application (tests: a provider with its own @Cron-declared job, which the scheduler takes over like any). */
  providers?: Provider[];
  /** false for the command line, which serves no HTTP: no API keys are generated for it, and none printed. */
  http?: boolean;
}

@Module({})
export class AppModule {
  static forRoot({ env, clock, schedulerTimers, logStream, providers = [], http = true }: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(env),
        CommonModule.forRoot(clock),
        LoggerModule.forRoot(loggerParams(env, logStream)),
        DatabaseModule,
        MetricsModule,
        AuthModule.forRoot({ generateKeys: http }),
        AuditModule,
        HealthModule,
        PartitionsModule.forRoot(env),
        RecordsModule,
        CleanupModule,
        NotificationsModule,
        SchedulerModule.forRoot({ timers: schedulerTimers }),
      ],
      providers,
    };
  }
}

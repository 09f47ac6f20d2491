import 'reflect-metadata';
import { HttpException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../app.module';
import { loadEnvFile } from '../config/env-file';
import { EnvValidationError, validateEnv } from '../config/env.validation';
import { SchedulerService } from '../scheduler/scheduler.service';

const USAGE = 'usage: npm run job -- <job-id> [--dry-run]   (e.g. npm run -s job -- daily_data_cleanup --dry-run)';

/**
 * Runs one job once, now, and exits: 0 when the run succeeded, 1 when it failed, 2 for bad usage or
 * configuration, 3 when the job is already at max_instances. The run is recorded in the ledger like
 * any other (trigger "cli"), for teams that schedule with Kubernetes CronJobs instead of the
 * in-process scheduler. This process never runs scheduled fires itself.
 *
 * stdout carries the JSON answer and nothing else, so `npm run -s job -- <id> | jq` works. The logs go to LOG_FILE as
 * the service's do, and only warnings and errors to stderr: the ~25 lines of a start are noise at a terminal or in a
 * CronJob's output, and they stay in the file for whoever needs them.
 */
async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a) => a !== '--dry-run');
  const dryRun = args.length !== argv.length;
  if (args.length !== 1 || args[0].startsWith('-')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let env;
  try {
    loadEnvFile();
    // No HTTP here, so no key is ever checked: throwaway keys keep the key ring from generating and printing some.
    const throwaway = () => randomBytes(24).toString('base64url');
    env = validateEnv({
      ...process.env,
      ADMIN_API_KEY: process.env.ADMIN_API_KEY || throwaway(),
      VIEWER_API_KEY: process.env.VIEWER_API_KEY || throwaway(),
      SCHEDULER_ENABLED: 'false',
      NOTICE_POLL_SECONDS: '0',
    });
  } catch (error) {
    if (error instanceof EnvValidationError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({ env, schedulerTimers: false, logStream: { stream: process.stderr, level: 'warn' }, http: false }),
    { bufferLogs: true },
  );
  app.useLogger(app.get(Logger));
  app.flushLogs();
  try {
    const { run } = await app.get(SchedulerService).runNow(args[0], { trigger: 'cli', triggeredBy: 'cli', dryRun });
    process.stdout.write(`${JSON.stringify({ run }, null, 2)}\n`);
    return run.status === 'succeeded' ? 0 : 1;
  } catch (error) {
    if (error instanceof HttpException) {
      process.stderr.write(`${error.message}\n`);
      return error.getStatus() === 409 ? 3 : 2;
    }
    throw error;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    process.stderr.write(`job failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });

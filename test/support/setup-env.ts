import { Logger } from '@nestjs/common';
import { capturedLog } from './captured-log';

// Quiet logs in tests unless asked for; set before any app module is imported.
process.env.LOG_LEVEL ??= 'warn';

// Nest's own logger, used where no app has installed pino (runMigrations on a bare DataSource), goes
// to the captured log too rather than to the test output.
const toCapturedLog =
  (level: string) =>
  (message: unknown, ...rest: unknown[]) =>
    capturedLog().write('nest', `${level} ${rest.length ? `[${String(rest[rest.length - 1])}] ` : ''}${String(message)}\n`);
Logger.overrideLogger({
  log: toCapturedLog('LOG'),
  error: toCapturedLog('ERROR'),
  warn: toCapturedLog('WARN'),
  debug: toCapturedLog('DEBUG'),
  verbose: toCapturedLog('VERBOSE'),
  fatal: toCapturedLog('FATAL'),
});

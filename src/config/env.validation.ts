import { plainToInstance } from 'class-transformer';
import { IsIn, IsOptional, IsString, Matches, MaxLength, validateSync, ValidationError } from 'class-validator';
import { longestGapHours } from '../common/cron';
import { IsCron, IsTimeZone } from '../common/validation';
import { declaredVariables, EnvBool, EnvInt, EnvKey, EnvSecret, isSecretVariable } from './env-decorators';
import { IsWebhookSecret } from './webhook-secret';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The whole runtime configuration. Validated once at boot; a bad value stops the boot with one line
 * per variable, naming it and the reason.
 */
export class Env {
  @IsIn(['development', 'production', 'test'], { message: 'must be one of development, production, test' })
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @EnvInt(0, 65535, undefined, { min: 'any free port' })
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @EnvSecret()
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
    message: 'must be sqlite:<path> (or sqlite::memory:) or postgres://user@host:port/db',
  })
  DATABASE_URL = 'sqlite:./data/teddy.sqlite';

  /** At least 2: a cleanup run holds one connection for its batches while reports and requests use others. */
  @EnvInt(2, 100)
  DB_POOL_SIZE = 10;

  /**
   * SQLite: how long a write waits for the file's write lock while another process (the command
   * line, an operator's sqlite3 shell) holds it. The wait never blocks the event loop; past it the
   * request is answered 503 with Retry-After and nothing of it is written.
   */
  @EnvInt(0, 60_000, 'ms')
  DB_BUSY_TIMEOUT_MS = 5000;

  @EnvInt(1, 3650, 'days')
  RETENTION_DAYS = 30;

  @EnvInt(1, Infinity, 'days', { why: '0 would warn no one' })
  NOTICE_DAYS_BEFORE = 2;

  /** At most one notice per guardian per this many days (guardians on noticeFrequency 'digest'); 1: one a day. */
  @EnvInt(1, 365, 'days')
  NOTICE_DIGEST_DAYS = 7;

  /*
   * The built-in jobs' schedules. No defaults here: each job's schedule is declared with @Cron where
   * its work lives (cleanup/cleanup.jobs.ts: 0 0 * * *, notifications/notice.jobs.ts: 0 23 * * *, both
   * UTC). A variable that is set wins over the declaration; one left unset (or empty) does not count.
   * See scheduler/jobs.ts (builtinJobs) for the whole precedence.
   */

  /** Overrides the @Cron expression of daily_data_cleanup. */
  @IsOptional()
  @IsCron()
  CLEANUP_CRON?: string;

  /** Overrides the @Cron expression of cleanup_notifications. */
  @IsOptional()
  @IsCron()
  NOTIFY_CRON?: string;

  /**
   * When set: the zone of every built-in job (over its @Cron timeZone). Either way, the zone of jobs
   * added without one and of the times shown in notices; UTC when unset (schedulerTimezone()).
   */
  @IsOptional()
  @IsTimeZone()
  SCHEDULER_TIMEZONE?: string;

  @EnvKey()
  ADMIN_API_KEY?: string;

  @EnvKey()
  VIEWER_API_KEY?: string;

  @EnvKey()
  INGEST_API_KEY?: string;

  @EnvKey()
  METRICS_TOKEN?: string;

  @EnvSecret()
  @IsOptional()
  @Matches(/^smtps?:\/\/[^\s]+$/, { message: 'must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @IsOptional()
  @Matches(/^([^<>]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/, {
    message: 'must be an e-mail address, optionally as "Name <address>"',
  })
  MAIL_FROM?: string;

  // A webhook URL often carries a token in its path.
  @EnvSecret()
  @IsOptional()
  @Matches(/^https?:\/\/[^\s]+$/, { message: 'must be an http:// or https:// URL' })
  NOTIFY_WEBHOOK_URL?: string;

  @EnvSecret()
  @IsOptional()
  @IsWebhookSecret()
  NOTIFY_WEBHOOK_SECRET?: string;

  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevel = 'info';

  /** Empty string: log to stdout only. */
  @IsString()
  @MaxLength(4096)
  LOG_FILE = 'logs/teddy_system.log';

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'must be a size such as 512kb or 10mb' })
  BODY_LIMIT = '10mb';

  /** Express "trust proxy": false, true, or a number of hops. Needed to rate-limit by client IP behind a load balancer. */
  @Matches(/^(true|false|\d{1,2})$/, { message: 'must be true, false or a number of proxy hops' })
  TRUST_PROXY = 'false';

  @EnvInt(1, 1000)
  AUTH_FAILURE_LIMIT = 10;

  @EnvInt(1, 86400, 'seconds')
  AUTH_FAILURE_WINDOW_SECONDS = 60;

  @EnvBool()
  LOG_HTTP_REQUESTS = true;

  // --- cleanup ---

  /** Rows deleted per transaction. Chosen by bench/cleanup (see bench/RESULTS.md). */
  @EnvInt(100, 100_000)
  CLEANUP_BATCH_SIZE = 5000;

  /**
   * PostgreSQL: how many days ahead of today the message table's daily partitions are kept created
   * (the message_partitions job; a backdated import creates the day it needs itself).
   */
  @EnvInt(3, 90, 'days')
  PARTITION_PREMAKE_DAYS = 7;

  /**
   * PostgreSQL: how long the cleanup waits to detach an expired day's partition while a transaction
   * that began before still uses the table (a long report, a pg_dump, a frozen client). Past it that
   * day is left for the next run, and the run ends failed, saying which transaction held it up.
   */
  @EnvInt(100, 3_600_000, 'ms')
  PARTITION_DETACH_TIMEOUT_MS = 60_000;

  /** How long cleanup reports are kept as deletion evidence. */
  @EnvInt(1, 3650, 'days')
  CLEANUP_REPORT_RETENTION_DAYS = 400;

  // --- scheduler ---

  /** false: this replica serves the API but never claims or runs scheduled fires (e.g. an API-only replica). */
  @EnvBool()
  SCHEDULER_ENABLED = true;

  /**
   * How long a replica holds a run it claimed without renewing it (the heartbeat renews it every
   * third of this). A replica that dies loses its runs this long after its last heartbeat, and
   * another replica runs them again.
   */
  @EnvInt(3, 3600, 'seconds')
  SCHEDULER_LEASE_SECONDS = 30;

  /** How often each replica re-reads the jobs, so a change made on another replica applies here. */
  @EnvInt(1, 10, 'seconds')
  SCHEDULER_SYNC_SECONDS = 5;

  /** How long the run ledger keeps its rows. */
  @EnvInt(1, 3650, 'days')
  JOB_RUN_RETENTION_DAYS = 400;

  /** On SIGTERM, how long to wait for running jobs before giving them up to another replica (below Kubernetes' default 30 s grace). */
  @EnvInt(0, 3_600_000, 'ms')
  SHUTDOWN_TIMEOUT_MS = 25_000;

  // --- notifications ---

  /** Delivery attempts per notice before it is marked dead. */
  @EnvInt(1, 100)
  NOTICE_MAX_ATTEMPTS = 8;

  /** First retry delay; each further failure doubles it (with jitter), up to NOTICE_RETRY_MAX_SECONDS. */
  @EnvInt(1, 86400, 'seconds')
  NOTICE_RETRY_BASE_SECONDS = 60;

  @EnvInt(1, 86400, 'seconds')
  NOTICE_RETRY_MAX_SECONDS = 3600;

  /** Notices claimed and sent per delivery batch. */
  @EnvInt(1, 5000)
  NOTICE_BATCH_SIZE = 200;

  /** How long a claimed batch belongs to the replica that claimed it; sends still running then are aborted. */
  @EnvInt(10, 3600, 'seconds')
  NOTICE_LEASE_SECONDS = 300;

  /** How often each replica looks for notices due for delivery (or a retry); 0 turns the poller off. */
  @EnvInt(0, 3600, 'seconds', { min: 'off' })
  NOTICE_POLL_SECONDS = 30;

  /** Pooled SMTP connections per replica. */
  @EnvInt(1, 100)
  SMTP_MAX_CONNECTIONS = 5;

  /** Connect, greeting and socket-idle timeout of SMTP connections. */
  @EnvInt(100, 120_000, 'ms')
  SMTP_TIMEOUT_MS = 15_000;

  /** The whole webhook request (connect, send, answer) must finish within this. */
  @EnvInt(100, 120_000, 'ms')
  NOTIFY_WEBHOOK_TIMEOUT_MS = 10_000;
}

/** The zone of whatever gives none, when SCHEDULER_TIMEZONE is not set. */
export const DEFAULT_TIMEZONE = 'UTC';

/** SCHEDULER_TIMEZONE, or UTC when it is not set: the default zone of added jobs, and the zone notices show times in. */
export function schedulerTimezone(env: Env): string {
  return env.SCHEDULER_TIMEZONE ?? DEFAULT_TIMEZONE;
}

/**
 * Why a notice schedule would announce some deletions late, or undefined: a deletion is announced by
 * the last notice run at least NOTICE_DAYS_BEFORE ahead of it, so after a longer pause between notice
 * runs a deletion could have no run that far ahead (the next one tells it, on short notice). One rule
 * for NOTIFY_CRON at boot, for the notice job's schedule the catalogue ends up with, and for an
 * operator's change to it.
 */
export function noticeGapProblem(cron: string, timezone: string, noticeDaysBefore: number, from?: Date): string | undefined {
  const gap = longestGapHours(cron, timezone, from);
  if (gap <= noticeDaysBefore * 24) return undefined;
  return `"${cron}" leaves up to ${Math.round(gap)} h between notice runs, more than NOTICE_DAYS_BEFORE (${noticeDaysBefore} days): some deletions would be announced less than that ahead`;
}

export class EnvValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment variables: ${problems.join('; ')}`);
    this.name = 'EnvValidationError';
  }
}

function describe(error: ValidationError, raw: Record<string, unknown>): string {
  const name = error.property;
  const reasons = Object.values(error.constraints ?? {});
  // One reason per variable keeps it to one line. class-validator lists constraints bottom-up, so the
  // last is the topmost decorator: the basic check ("must be an integer") rather than a range.
  const last = reasons[reasons.length - 1] ?? 'is invalid';
  // Shared validators start with the property's name, as request errors need; here the line starts with it already.
  const reason = last.startsWith(`${name} `) ? last.slice(name.length + 1) : last;
  if (isSecretVariable(error.target, name)) return `${name}: ${reason}`;
  return `${name}: ${JSON.stringify(String(raw[name] ?? ''))} ${reason}`;
}

/**
 * Reads every variable `cls` declares from `source` and checks each against its decorators. Unset or
 * empty variables take their defaults (LOG_FILE excepted: empty means stdout only).
 */
export function readVariables<T extends object>(
  cls: new () => T,
  source: Record<string, string | undefined>,
): { env: T; problems: string[] } {
  const raw: Record<string, unknown> = {};
  for (const key of declaredVariables(cls)) {
    const value = source[key];
    if (value !== undefined && !(value === '' && key !== 'LOG_FILE')) raw[key] = value;
  }
  const env = plainToInstance(cls, raw, { exposeDefaultValues: true });
  return { env, problems: validateSync(env, { forbidUnknownValues: false }).map((e) => describe(e, raw)) };
}

/**
 * Builds the Env from process.env (or a test's map). Throws EnvValidationError naming every bad
 * variable, or every pair of variables that contradict each other.
 */
export function validateEnv(source: Record<string, string | undefined>): Env {
  const { env, problems } = readVariables(Env, source);

  if (problems.length === 0) {
    if (env.NOTICE_DAYS_BEFORE >= env.RETENTION_DAYS) {
      problems.push(`NOTICE_DAYS_BEFORE: "${env.NOTICE_DAYS_BEFORE}" must be less than RETENTION_DAYS (${env.RETENTION_DAYS})`);
    }
    // Here only when NOTIFY_CRON is set; the schedule the notice job ends up with (the @Cron one, or a
    // stored one) is checked by the scheduler's catalogue at start, with the same rule.
    const gap = env.NOTIFY_CRON && noticeGapProblem(env.NOTIFY_CRON, schedulerTimezone(env), env.NOTICE_DAYS_BEFORE);
    if (gap) problems.push(`NOTIFY_CRON: ${gap}`);
    if (env.NOTIFY_WEBHOOK_URL && /^https?:\/\/[^/?#]*@/.test(env.NOTIFY_WEBHOOK_URL)) {
      // fetch() refuses such URLs, and its error would quote the password into every failed notice.
      problems.push('NOTIFY_WEBHOOK_URL: must not contain user:password@ (the webhook is authenticated by its signature)');
    }
    if (env.NOTIFY_WEBHOOK_URL && !env.NOTIFY_WEBHOOK_SECRET) {
      problems.push('NOTIFY_WEBHOOK_SECRET: is required when NOTIFY_WEBHOOK_URL is set');
    }
    if (env.SMTP_URL && !env.MAIL_FROM) {
      problems.push('MAIL_FROM: is required when SMTP_URL is set');
    }
    if (env.NOTICE_RETRY_MAX_SECONDS < env.NOTICE_RETRY_BASE_SECONDS) {
      problems.push(
        `NOTICE_RETRY_MAX_SECONDS: "${env.NOTICE_RETRY_MAX_SECONDS}" must not be less than NOTICE_RETRY_BASE_SECONDS (${env.NOTICE_RETRY_BASE_SECONDS})`,
      );
    }
    const slowestSendMs = Math.max(env.SMTP_TIMEOUT_MS, env.NOTIFY_WEBHOOK_TIMEOUT_MS);
    if (env.NOTICE_LEASE_SECONDS * 1000 < 2 * slowestSendMs) {
      problems.push(
        `NOTICE_LEASE_SECONDS: "${env.NOTICE_LEASE_SECONDS}" must be at least twice the longest send timeout (SMTP_TIMEOUT_MS / NOTIFY_WEBHOOK_TIMEOUT_MS: ${slowestSendMs} ms)`,
      );
    }
    const keys = [env.ADMIN_API_KEY, env.VIEWER_API_KEY, env.INGEST_API_KEY].filter(Boolean);
    if (new Set(keys).size !== keys.length) {
      problems.push('ADMIN_API_KEY, VIEWER_API_KEY, INGEST_API_KEY: each role needs its own key');
    }
    if (env.NODE_ENV === 'production' && !env.ADMIN_API_KEY) {
      problems.push('ADMIN_API_KEY: is required when NODE_ENV=production');
    }
  }
  if (problems.length > 0) throw new EnvValidationError(problems);
  return env;
}

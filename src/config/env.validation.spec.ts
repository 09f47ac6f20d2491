import { readFileSync } from 'fs';
import { join } from 'path';
import { IsOptional, MinLength } from 'class-validator';
import { EnvKey, EnvSecret } from './env-decorators';
import { Env, EnvValidationError, readVariables, schedulerTimezone, validateEnv } from './env.validation';

function problems(source: Record<string, string>): string[] {
  try {
    validateEnv(source);
  } catch (error) {
    if (error instanceof EnvValidationError) return error.problems;
    throw error;
  }
  return [];
}

describe('validateEnv', () => {
  it('fills every default from an empty environment', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      DATABASE_URL: 'sqlite:./data/teddy.sqlite',
      RETENTION_DAYS: 30,
      NOTICE_DAYS_BEFORE: 2,
      LOG_LEVEL: 'info',
      LOG_FILE: 'logs/teddy_system.log',
    });
    expect(env.ADMIN_API_KEY).toBeUndefined();
    // No defaults: unset, the built-in jobs run on the schedule their @Cron declares (scheduler/jobs.ts).
    expect([env.CLEANUP_CRON, env.NOTIFY_CRON, env.SCHEDULER_TIMEZONE]).toEqual([undefined, undefined, undefined]);
    expect(schedulerTimezone(env)).toBe('UTC');
    expect(schedulerTimezone(validateEnv({ SCHEDULER_TIMEZONE: 'Europe/Berlin' }))).toBe('Europe/Berlin');
  });

  it('names the variable and the reason for a bad cron, in one line', () => {
    expect(problems({ CLEANUP_CRON: '61 * * * *' })).toEqual([
      'CLEANUP_CRON: "61 * * * *" is not a valid cron expression (minute: value 61 is out of range 0-59)',
    ]);
    expect(() => validateEnv({ CLEANUP_CRON: '61 * * * *' })).toThrow(
      /^Invalid environment variables: CLEANUP_CRON: "61 \* \* \* \*" is not a valid cron expression/,
    );
  });

  it('prints the boot error that the README shows', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const shown = readme.split('\n').filter((line) => line.startsWith('Invalid environment variables: CLEANUP_CRON: "61 * * * *"'));
    expect(shown).toHaveLength(1);
    // toThrow with an Error compares the whole message.
    expect(() => validateEnv({ CLEANUP_CRON: '61 * * * *' })).toThrow(new Error(shown[0]));
  });

  it('accepts 6-field cron expressions with seconds and refuses other field counts', () => {
    expect(validateEnv({ NOTIFY_CRON: '*/5 * * * * *' }).NOTIFY_CRON).toBe('*/5 * * * * *');
    expect(problems({ NOTIFY_CRON: '0 0 * *' })[0]).toMatch(
      /^NOTIFY_CRON: "0 0 \* \*" is not a valid cron expression \(must have 5 fields/,
    );
    expect(problems({ NOTIFY_CRON: '@daily' })[0]).toMatch(/^NOTIFY_CRON: .*must have 5 fields/);
  });

  it.each([
    ['PORT', '70000', /^PORT: "70000" must be between 0 \(any free port\) and 65535$/],
    ['PORT', 'abc', /^PORT: "abc" must be an integer$/],
    ['RETENTION_DAYS', '0', /^RETENTION_DAYS: "0" must be between 1 and 3650 days$/],
    ['SCHEDULER_TIMEZONE', 'Mars/Base', /^SCHEDULER_TIMEZONE: "Mars\/Base" is not a known IANA time zone/],
    ['LOG_LEVEL', 'loud', /^LOG_LEVEL: "loud" must be one of/],
    ['DATABASE_URL', 'mysql://x', /^DATABASE_URL: must be sqlite:/],
    ['SMTP_URL', 'http://mail', /^SMTP_URL: must be an smtp/],
    ['NOTIFY_WEBHOOK_URL', 'ftp://x', /^NOTIFY_WEBHOOK_URL: must be an http/],
    ['BODY_LIMIT', 'lots', /^BODY_LIMIT: "lots" must be a size/],
    ['LOG_HTTP_REQUESTS', 'maybe', /^LOG_HTTP_REQUESTS: "maybe" must be true or false$/],
    ['NODE_ENV', 'staging', /^NODE_ENV: "staging" must be one of development, production, test$/],
  ])('refuses %s=%s', (name, value, expected) => {
    const found = problems({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
  });

  it('never echoes a secret value', () => {
    const found = problems({ ADMIN_API_KEY: 'short-secret', DATABASE_URL: 'mysql://user:pw@host/db' });
    expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/^ADMIN_API_KEY: must be at least 16/)]));
    expect(found.join('\n')).not.toContain('short-secret');
    expect(found.join('\n')).not.toContain(':pw@');
  });

  it('never echoes a secret declared later, by its decorator alone', () => {
    class EnvWithNewSecrets extends Env {
      @EnvKey()
      declare NEW_API_KEY?: string;

      @EnvSecret()
      @IsOptional()
      @MinLength(20, { message: 'must be at least 20 characters' })
      declare NEW_SECRET_URL?: string;
    }
    const { problems: found } = readVariables(EnvWithNewSecrets, { NEW_API_KEY: 'tiny-key', NEW_SECRET_URL: 'x://pw@h' });
    expect(found.sort()).toEqual(['NEW_API_KEY: must be at least 16 characters', 'NEW_SECRET_URL: must be at least 20 characters']);
    // The same rule on a variable not marked secret shows the value, as every other boot error does.
    class EnvWithPlainSetting extends Env {
      @IsOptional()
      @MinLength(20, { message: 'must be at least 20 characters' })
      declare NEW_PLAIN?: string;
    }
    expect(readVariables(EnvWithPlainSetting, { NEW_PLAIN: 'x://pw@h' }).problems).toEqual([
      'NEW_PLAIN: "x://pw@h" must be at least 20 characters',
    ]);
  });

  it('refuses a webhook URL with credentials in it, without echoing them', () => {
    const found = problems({
      NOTIFY_WEBHOOK_URL: 'https://user:s3cret@hooks.example.com/t',
      NOTIFY_WEBHOOK_SECRET: `whsec_${'x'.repeat(32)}`,
    });
    expect(found).toEqual(['NOTIFY_WEBHOOK_URL: must not contain user:password@ (the webhook is authenticated by its signature)']);
  });

  it.each([
    ['SHUTDOWN_TIMEOUT_MS', '1.5', /^SHUTDOWN_TIMEOUT_MS: "1.5" must be an integer number of milliseconds$/],
    ['SHUTDOWN_TIMEOUT_MS', '-1', /^SHUTDOWN_TIMEOUT_MS: "-1" must be between 0 and 3600000 ms$/],
    ['NOTICE_POLL_SECONDS', '3601', /^NOTICE_POLL_SECONDS: "3601" must be between 0 \(off\) and 3600 seconds$/],
    ['NOTICE_DAYS_BEFORE', 'two', /^NOTICE_DAYS_BEFORE: "two" must be an integer number of days$/],
    ['CLEANUP_BATCH_SIZE', '99', /^CLEANUP_BATCH_SIZE: "99" must be between 100 and 100000$/],
    ['SCHEDULER_ENABLED', 'perhaps', /^SCHEDULER_ENABLED: "perhaps" must be true or false$/],
  ])('names the unit and the range: %s=%s', (name, value, expected) => {
    expect(problems({ [name]: value })).toEqual([expect.stringMatching(expected)]);
  });

  it('reads integers and booleans with their units, spaces and spellings', () => {
    const env = validateEnv({ SHUTDOWN_TIMEOUT_MS: ' 0 ', NOTICE_DAYS_BEFORE: '20', SCHEDULER_ENABLED: 'No', LOG_HTTP_REQUESTS: '1' });
    expect(env).toMatchObject({ SHUTDOWN_TIMEOUT_MS: 0, NOTICE_DAYS_BEFORE: 20, SCHEDULER_ENABLED: false, LOG_HTTP_REQUESTS: true });
  });

  it('reads an optional variable that no list names, as soon as it is declared', () => {
    // `declare`: no runtime field, so the variable is known only by its decorators, as every field
    // without a default is when the compiler does not define class fields (useDefineForClassFields off).
    class EnvWithNewSetting extends Env {
      @IsOptional()
      @MinLength(3, { message: 'must be at least 3 characters' })
      declare NEW_OPTIONAL_SETTING?: string;
    }
    expect(readVariables(EnvWithNewSetting, { NEW_OPTIONAL_SETTING: 'abc' }).env.NEW_OPTIONAL_SETTING).toBe('abc');
    expect(readVariables(EnvWithNewSetting, { NEW_OPTIONAL_SETTING: 'ab' }).problems).toEqual([
      'NEW_OPTIONAL_SETTING: "ab" must be at least 3 characters',
    ]);
    expect(readVariables(EnvWithNewSetting, {}).env.NEW_OPTIONAL_SETTING).toBeUndefined();
  });

  it('reads every optional variable of Env', () => {
    const optional = {
      SMTP_URL: 'smtp://mail:25',
      MAIL_FROM: 'Teddy <teddy@example.com>',
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/t',
    };
    expect(readVariables(Env, optional)).toEqual({ env: expect.objectContaining(optional), problems: [] });
  });

  it('names a variable once in its reason, also for default messages', () => {
    const long = 'x'.repeat(4097);
    expect(problems({ LOG_FILE: long })).toEqual([`LOG_FILE: "${long}" must be shorter than or equal to 4096 characters`]);
  });

  it('reports every bad variable at once', () => {
    expect(
      problems({ PORT: '-1', LOG_LEVEL: 'x', RETENTION_DAYS: 'y' })
        .map((p) => p.split(':')[0])
        .sort(),
    ).toEqual(['LOG_LEVEL', 'PORT', 'RETENTION_DAYS']);
  });

  it('checks the variables against each other', () => {
    expect(problems({ RETENTION_DAYS: '2', NOTICE_DAYS_BEFORE: '2' })).toEqual([
      'NOTICE_DAYS_BEFORE: "2" must be less than RETENTION_DAYS (2)',
    ]);
    expect(problems({ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/teddy' })).toEqual([
      'NOTIFY_WEBHOOK_SECRET: is required when NOTIFY_WEBHOOK_URL is set',
    ]);
    expect(problems({ ADMIN_API_KEY: 'same-key-0123456789', VIEWER_API_KEY: 'same-key-0123456789' })[0]).toMatch(
      /each role needs its own key/,
    );
  });

  it('refuses a notice schedule that would let a cleanup go unannounced', () => {
    expect(problems({ NOTICE_DAYS_BEFORE: '0' })[0]).toMatch(/^NOTICE_DAYS_BEFORE: "0" must be 1 or more days/);
    expect(problems({ NOTIFY_CRON: '0 9 * * 1' })).toEqual([
      'NOTIFY_CRON: "0 9 * * 1" leaves up to 168 h between notice runs, more than NOTICE_DAYS_BEFORE (2 days): some deletions would be announced less than that ahead',
    ]);
    expect(problems({ NOTIFY_CRON: '0 9 * * 1', NOTICE_DAYS_BEFORE: '7' })).toEqual([]);
    expect(problems({ NOTIFY_CRON: '0 9,18 * * *' })).toEqual([]);
  });

  it('requires ADMIN_API_KEY in production only', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual(['ADMIN_API_KEY: is required when NODE_ENV=production']);
    expect(validateEnv({ NODE_ENV: 'production', ADMIN_API_KEY: 'x'.repeat(32) }).NODE_ENV).toBe('production');
    expect(problems({ NODE_ENV: 'development' })).toEqual([]);
  });

  it('treats empty strings as unset, except LOG_FILE where empty means stdout only', () => {
    const env = validateEnv({ PORT: '', ADMIN_API_KEY: '', LOG_FILE: '' });
    expect(env.PORT).toBe(3000);
    expect(env.ADMIN_API_KEY).toBeUndefined();
    expect(env.LOG_FILE).toBe('');
  });
});

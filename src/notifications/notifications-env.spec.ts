import { EnvValidationError, validateEnv } from '../config/env.validation';

const problems = (vars: Record<string, string>): string[] => {
  try {
    validateEnv(vars);
    return [];
  } catch (error) {
    return (error as EnvValidationError).problems;
  }
};

describe('notification settings', () => {
  it('have working defaults: log channel, 8 attempts, a poller every 30 s', () => {
    const env = validateEnv({});
    expect(env).toMatchObject({
      NOTICE_MAX_ATTEMPTS: 8,
      NOTICE_RETRY_BASE_SECONDS: 60,
      NOTICE_RETRY_MAX_SECONDS: 3600,
      NOTICE_BATCH_SIZE: 200,
      NOTICE_LEASE_SECONDS: 300,
      NOTICE_POLL_SECONDS: 30,
      SMTP_MAX_CONNECTIONS: 5,
      SMTP_TIMEOUT_MS: 15000,
      NOTIFY_WEBHOOK_TIMEOUT_MS: 10000,
    });
  });

  it.each([
    ['NOTICE_MAX_ATTEMPTS', '0', /^NOTICE_MAX_ATTEMPTS: "0" must be between 1 and 100/],
    ['NOTICE_POLL_SECONDS', 'often', /^NOTICE_POLL_SECONDS: "often" must be an integer/],
    ['NOTIFY_WEBHOOK_TIMEOUT_MS', '999999', /^NOTIFY_WEBHOOK_TIMEOUT_MS: "999999" must be between 100 and 120000 ms/],
  ])('refuse a bad %s, naming it', (name, value, message) => {
    expect(problems({ [name]: value })[0]).toMatch(message);
  });

  it('need MAIL_FROM with SMTP_URL, without echoing the URL', () => {
    expect(problems({ SMTP_URL: 'smtp://user:secret@mail.example.com:587' })).toEqual(['MAIL_FROM: is required when SMTP_URL is set']);
  });

  it('need a maximum retry delay no shorter than the first', () => {
    expect(problems({ NOTICE_RETRY_BASE_SECONDS: '600', NOTICE_RETRY_MAX_SECONDS: '60' })[0]).toMatch(
      /^NOTICE_RETRY_MAX_SECONDS: "60" must not be less than/,
    );
  });

  it('need a lease long enough to outlast a send', () => {
    expect(problems({ NOTICE_LEASE_SECONDS: '20', SMTP_TIMEOUT_MS: '15000' })[0]).toMatch(
      /^NOTICE_LEASE_SECONDS: "20" must be at least twice the longest send timeout/,
    );
  });
});

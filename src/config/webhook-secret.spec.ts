import { EnvValidationError, validateEnv } from './env.validation';

describe('NOTIFY_WEBHOOK_SECRET at boot', () => {
  const refusal = (secret: string): string => {
    try {
      validateEnv({ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/teddy', NOTIFY_WEBHOOK_SECRET: secret });
    } catch (error) {
      if (error instanceof EnvValidationError) return error.message;
      throw error;
    }
    return '';
  };

  it('refuses anything but a whsec_ secret, naming the variable and never the value', () => {
    for (const secret of ['a-plain-webhook-secret-0001', 'whsec_dG9vLXNob3J0', 'whsec_not*base64*at*all*but*long*enough*00']) {
      const message = refusal(secret);
      expect(message).toBe(
        'Invalid environment variables: NOTIFY_WEBHOOK_SECRET: must be whsec_ followed by the base64 of 24 to 64 random bytes, ' +
          'as Standard Webhooks defines it (make one with: echo whsec_$(openssl rand -base64 32))',
      );
      expect(message).not.toContain(secret.slice('whsec_'.length));
    }
  });

  it('takes one', () => {
    expect(refusal(`whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toBe('');
  });
});

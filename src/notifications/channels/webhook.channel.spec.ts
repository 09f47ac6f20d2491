import { signWebhook, webhookKey } from './webhook.channel';

describe('Standard Webhooks signature', () => {
  it('matches the reference vector of the Standard Webhooks libraries', () => {
    const signature = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('uses a secret without the whsec_ prefix as its UTF-8 bytes', () => {
    expect(webhookKey('a-plain-secret-of-16+')).toEqual(Buffer.from('a-plain-secret-of-16+'));
  });

  it('changes with the body, the id and the timestamp', () => {
    const secret = 'a-plain-secret-of-16+';
    const base = signWebhook(secret, 'id', 1, '{}');
    expect(signWebhook(secret, 'id', 1, '{ }')).not.toBe(base);
    expect(signWebhook(secret, 'id2', 1, '{}')).not.toBe(base);
    expect(signWebhook(secret, 'id', 2, '{}')).not.toBe(base);
  });
});

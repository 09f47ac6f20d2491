import { randomBytes } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { FixedClock } from '../../common/clock';
import { validateEnv } from '../../config/env.validation';
import { webhookSecretKey } from '../../config/webhook-secret';
import { OutgoingNotice } from './channel';
import { signWebhook, WebhookChannel } from './webhook.channel';

const secretOf = (bytes: number) => `whsec_${randomBytes(bytes).toString('base64')}`;

describe('Standard Webhooks signature', () => {
  it('matches the reference vector of the Standard Webhooks libraries', () => {
    const signature = signWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('takes only whsec_ and the padded base64 of 24 to 64 bytes, the form the libraries decode', () => {
    for (const bytes of [24, 25, 26, 32, 64]) expect(webhookSecretKey(secretOf(bytes))).toHaveLength(bytes);
    const refused = [
      // Formerly used as its UTF-8 bytes, while the library base64-decodes it: every notice was rejected.
      'a-plain-secret-of-16+',
      randomBytes(32).toString('base64'),
      secretOf(23),
      secretOf(65),
      `whsec_${randomBytes(32).toString('base64url')}`,
      `whsec_${randomBytes(25).toString('base64').replace(/=+$/, '')}`,
      'whsec_',
    ];
    for (const secret of refused) {
      expect(webhookSecretKey(secret)).toBeUndefined();
      expect(() => signWebhook(secret, 'id', 1, '{}')).toThrow(/^NOTIFY_WEBHOOK_SECRET is not a Standard Webhooks secret/);
    }
  });

  it('changes with the body, the id and the timestamp', () => {
    const secret = secretOf(32);
    const base = signWebhook(secret, 'id', 1, '{}');
    expect(signWebhook(secret, 'id', 1, '{ }')).not.toBe(base);
    expect(signWebhook(secret, 'id2', 1, '{}')).not.toBe(base);
    expect(signWebhook(secret, 'id', 2, '{}')).not.toBe(base);
  });
});

describe('WebhookChannel', () => {
  let server: Server;
  let url: string;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const notice: OutgoingNotice = {
    id: 'f3a1c2d4-0000-4000-8000-000000000001',
    guardianId: 'f3a1c2d4-0000-4000-8000-000000000002',
    to: 'parent@example.com',
    guardianName: 'Layla',
    locale: 'ar',
    cleanupAt: new Date('2026-12-02T00:00:00.000Z'),
    timeZone: 'Asia/Riyadh',
    shortNotice: false,
    groups: [
      {
        childId: 'f3a1c2d4-0000-4000-8000-000000000003',
        displayName: 'زياد',
        date: '2026-12-02',
        deleteAt: '2026-12-02T00:00:00.000Z',
        messages: 3,
        conversations: 1,
        late: false,
      },
    ],
    children: [{ childId: 'f3a1c2d4-0000-4000-8000-000000000003', displayName: 'زياد', messages: 3, conversations: 1 }],
    messages: 3,
    conversations: 1,
    rendered: { subject: 'حذف البيانات', text: 'نص', html: '<p dir="rtl">نص</p>' },
  };

  it.each([24, 32, 64])(
    'sends what the standardwebhooks library verifies, with a %i-byte secret, and a tampered body fails',
    async (bytes) => {
      const secret = secretOf(bytes);
      const env = validateEnv({ NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: secret });
      received.length = 0;
      // The library checks the timestamp against its own clock, so the channel signs with the real time here.
      await new WebhookChannel(env, new FixedClock(new Date())).send(notice, new AbortController().signal);
      expect(received).toHaveLength(1);
      const [{ headers, body }] = received;
      const wh = new Webhook(secret);
      const headerMap = {
        'webhook-id': String(headers['webhook-id']),
        'webhook-timestamp': String(headers['webhook-timestamp']),
        'webhook-signature': String(headers['webhook-signature']),
      };
      expect(wh.verify(body, headerMap)).toMatchObject({ type: 'retention.deletion_notice', data: { noticeId: notice.id, messages: 3 } });
      expect(() => wh.verify(body.replace('"messages":3', '"messages":0'), headerMap)).toThrow(WebhookVerificationError);
      expect(() => new Webhook(secretOf(bytes)).verify(body, headerMap)).toThrow(WebhookVerificationError);
    },
  );
});

import { createHmac } from 'node:crypto';
import { Clock } from '../../common/clock';
import { Env } from '../../config/env.validation';
import { webhookSecretKey } from '../../config/webhook-secret';
import { NoticeChannel, OutgoingNotice } from './channel';

/**
 * `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), the Standard Webhooks signature, keyed with the bytes
 * of a `whsec_<base64>` secret as the receivers' libraries decode it.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = webhookSecretKey(secret);
  // validateEnv refuses such a secret at boot; signing with it anyway would only produce notices every receiver rejects.
  if (!key) throw new Error('NOTIFY_WEBHOOK_SECRET is not a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 bytes)');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/**
 * POSTs the notice as JSON to NOTIFY_WEBHOOK_URL, signed as Standard Webhooks says. webhook-id is
 * the notice id on every retry, so the receiver can drop a duplicate.
 */
export class WebhookChannel implements NoticeChannel {
  readonly name = 'webhook' as const;

  constructor(
    private readonly env: Env,
    private readonly clock: Clock,
  ) {}

  async send(notice: OutgoingNotice, signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const timestamp = Math.floor(now.getTime() / 1000);
    const body = JSON.stringify({
      type: 'retention.deletion_notice',
      timestamp: now.toISOString(),
      data: {
        noticeId: notice.id,
        guardianId: notice.guardianId,
        locale: notice.locale,
        cleanupAt: notice.cleanupAt.toISOString(),
        timeZone: notice.timeZone,
        shortNotice: notice.shortNotice,
        messages: notice.messages,
        conversations: notice.conversations,
        children: notice.children,
        groups: notice.groups,
        subject: notice.rendered.subject,
        text: notice.rendered.text,
        html: notice.rendered.html,
      },
    });
    const timeout = this.env.NOTIFY_WEBHOOK_TIMEOUT_MS;
    let response: Response;
    try {
      response = await fetch(this.env.NOTIFY_WEBHOOK_URL!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'teddy-scheduler',
          'webhook-id': notice.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(this.env.NOTIFY_WEBHOOK_SECRET!, notice.id, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
      });
    } catch (error) {
      const name = (error as Error)?.name;
      if (name === 'TimeoutError') throw new Error(`webhook did not answer within ${timeout} ms`, { cause: error });
      if (name === 'AbortError') throw new Error('webhook send aborted: the delivery lease ran out', { cause: error });
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`webhook request failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`, { cause: error });
    }
    // Read nothing of the answer but its status; release the connection.
    await response.body?.cancel().catch(() => undefined);
    if (response.status < 200 || response.status >= 300) throw new Error(`webhook answered HTTP ${response.status}`);
  }
}

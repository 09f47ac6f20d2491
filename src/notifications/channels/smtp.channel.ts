import { createTransport, Transporter } from 'nodemailer';
import { Env } from '../../config/env.validation';
import { NoticeChannel, OutgoingNotice } from './channel';

/** The Message-ID of a notice's e-mail: the same on every retry, so a receiving server can drop a duplicate. */
export function noticeMessageId(noticeId: string): string {
  return `<${noticeId}@teddy-scheduler>`;
}

/** SMTP through nodemailer's pooled transport: a few long-lived connections shared by all sends. */
export class SmtpChannel implements NoticeChannel {
  readonly name = 'smtp' as const;
  private readonly transport: Transporter;
  private readonly from: string;

  constructor(env: Env) {
    this.from = env.MAIL_FROM!;
    this.transport = createTransport({
      url: env.SMTP_URL,
      pool: true,
      maxConnections: env.SMTP_MAX_CONNECTIONS,
      // Reconnecting every 100 messages (the default) costs throughput for nothing on a trusted relay.
      maxMessages: 10_000,
      connectionTimeout: env.SMTP_TIMEOUT_MS,
      greetingTimeout: env.SMTP_TIMEOUT_MS,
      socketTimeout: env.SMTP_TIMEOUT_MS,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  async send(notice: OutgoingNotice, signal: AbortSignal): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to: { name: notice.guardianName, address: notice.to },
      subject: notice.rendered.subject,
      text: notice.rendered.text,
      html: notice.rendered.html,
      messageId: noticeMessageId(notice.id),
      headers: { 'Content-Language': notice.locale, 'Auto-Submitted': 'auto-generated' },
      signal,
    });
  }

  close(): void {
    this.transport.close();
  }
}

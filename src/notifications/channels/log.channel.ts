import { Logger } from '@nestjs/common';
import { maskAddress } from '../../common/mask';
import { NoticeChannel, OutgoingNotice } from './channel';

/**
 * The default channel: the notice becomes a log line, so the embedded setup works without SMTP.
 * Counts and the subject only, and the address masked.
 */
export class LogChannel implements NoticeChannel {
  readonly name = 'log' as const;
  private readonly logger = new Logger('NoticeLog');

  async send(notice: OutgoingNotice): Promise<void> {
    this.logger.log(
      {
        noticeId: notice.id,
        guardianId: notice.guardianId,
        to: maskAddress(notice.to),
        locale: notice.locale,
        cleanupAt: notice.cleanupAt.toISOString(),
        children: notice.children.length,
        dates: new Set(notice.groups.map((g) => g.date)).size,
        shortNotice: notice.shortNotice,
        messages: notice.messages,
        conversations: notice.conversations,
        subject: notice.rendered.subject,
      },
      'deletion notice (log channel)',
    );
  }
}

import { Module } from '@nestjs/common';
import { makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { CleanupModule } from '../cleanup/cleanup.module';
import { Clock } from '../common/clock';
import { Env } from '../config/env.validation';
import { configuredChannels, NOTICE_CHANNELS, NoticeChannel } from './channels/channel';
import { LogChannel } from './channels/log.channel';
import { SmtpChannel } from './channels/smtp.channel';
import { WebhookChannel } from './channels/webhook.channel';
import { DeliveryService, NOTICES_TOTAL } from './delivery.service';
import { FamilyHistoryController } from './family-history.controller';
import { FamilyHistoryService } from './family-history.service';
import { NoticeJobs } from './notice.jobs';
import { NoticeService } from './notice.service';
import { NotificationsController } from './notifications.controller';

@Module({
  imports: [CleanupModule],
  controllers: [NotificationsController, FamilyHistoryController],
  providers: [
    NoticeService,
    NoticeJobs,
    DeliveryService,
    FamilyHistoryService,
    {
      provide: NOTICE_CHANNELS,
      inject: [Env, Clock],
      useFactory: (env: Env, clock: Clock) => {
        // The log channel is always there, so notices queued for it before SMTP was configured still go out.
        const channels = new Map<string, NoticeChannel>([['log', new LogChannel()]]);
        for (const name of configuredChannels(env)) {
          if (name === 'smtp') channels.set(name, new SmtpChannel(env));
          if (name === 'webhook') channels.set(name, new WebhookChannel(env, clock));
        }
        return channels;
      },
    },
    makeCounterProvider({
      name: NOTICES_TOTAL,
      help: 'Deletion notices by channel and outcome: pending (enqueued), sent, failed (an attempt failed), dead (given up)',
      labelNames: ['channel', 'status'],
    }),
  ],
  exports: [NoticeService, DeliveryService],
})
export class NotificationsModule {}

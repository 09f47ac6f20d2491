import type { Locale } from '../../records/guardian.entity';
import type { ChannelName, ChildCounts, NoticeGroup } from '../notice.entity';
import type { RenderedNotice } from '../templates/render';

/** A notice ready to leave: who gets it and what it says. */
export interface OutgoingNotice {
  id: string;
  guardianId: string;
  /** The guardian's e-mail address. */
  to: string;
  guardianName: string;
  locale: Locale;
  /** Its first deletion. */
  cleanupAt: Date;
  /** The zone its dates are in. */
  timeZone: string;
  /** What it announces, per child and deletion date. */
  groups: NoticeGroup[];
  /** Some of it is deleted less than NOTICE_DAYS_BEFORE after the notice. */
  shortNotice: boolean;
  /** Per child, over all dates. */
  children: ChildCounts[];
  messages: number;
  conversations: number;
  rendered: RenderedNotice;
}

export interface NoticeChannel {
  readonly name: ChannelName;
  /** Resolves once the channel has taken the notice; rejects (never hangs past `signal`) otherwise. */
  send(notice: OutgoingNotice, signal: AbortSignal): Promise<void>;
  close?(): Promise<void> | void;
}

/** Injection token: the configured channels, by name. */
export const NOTICE_CHANNELS = Symbol('NOTICE_CHANNELS');
export type NoticeChannels = ReadonlyMap<ChannelName, NoticeChannel>;

/** The channels a new notice goes out on: SMTP and/or the webhook when configured, else the log. */
export function configuredChannels(env: { SMTP_URL?: string; NOTIFY_WEBHOOK_URL?: string }): ChannelName[] {
  const names: ChannelName[] = [];
  if (env.SMTP_URL) names.push('smtp');
  if (env.NOTIFY_WEBHOOK_URL) names.push('webhook');
  return names.length > 0 ? names : ['log'];
}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Counter } from 'prom-client';
import { Clock } from '../common/clock';
import { maskEmails } from '../common/mask';
import { mapWithConcurrency } from '../common/pool';
import { Env, schedulerTimezone } from '../config/env.validation';
import { Database } from '../database/database.service';
import { execute } from '../database/execute';
import { fromSqlBoolean, fromSqlTimestamp, SqlParams } from '../database/sql';
import { AppErrors } from '../metrics/app-errors.service';
import type { Locale } from '../records/guardian.entity';
import { NOTICE_CHANNELS, NoticeChannels, OutgoingNotice } from './channels/channel';
import { ChannelName, ChildCounts, NoticeGroup } from './notice.entity';
import { afterFailure, RetryPolicy } from './retry';
import { noticeGroups } from './digest';
import { renderNotice } from './templates/render';

export const NOTICES_TOTAL = 'teddy_notices_total';

/** Sends in flight per batch: enough to keep SMTP_MAX_CONNECTIONS busy and a webhook receiver fed. */
const SEND_CONCURRENCY = 32;
/** Sends stop this long before the lease ends, so a notice is never sent by two replicas. */
const LEASE_SAFETY = 0.2;
const MAX_ERROR_LENGTH = 500;

export interface DeliverySummary {
  claimed: number;
  sent: number;
  failed: number;
  dead: number;
  /** Notices whose deletion came before they could be delivered (marked dead). */
  expired: number;
  /** The pass ran out of its time budget with notices perhaps still due; the next pass sends them. */
  more: boolean;
  durationMs: number;
}

/** A claimed outbox row. */
interface Recipient {
  email: string;
  name: string;
  /** The guardian's IANA zone, or SCHEDULER_TIMEZONE. */
  timeZone: string;
}

interface Claimed {
  id: string;
  guardianId: string;
  cleanupAt: Date;
  locale: Locale;
  channels: ChannelName[];
  delivered: ChannelName[];
  attempts: number;
  children: ChildCounts[];
  messages: number;
  conversations: number;
  groups: NoticeGroup[];
  shortNotice: boolean;
  /** The zone its dates were drafted in; null on notices from before digests (the guardian's zone then). */
  timeZone: string | null;
}

type Outcome =
  | { id: string; delivered: ChannelName[]; status: 'sent' }
  | { id: string; delivered: ChannelName[]; status: 'failed'; nextAttemptAt: Date; error: string }
  | { id: string; delivered: ChannelName[]; status: 'dead'; error: string };

/** An error as stored on the notice and shown by GET /admin/notifications: bounded, addresses masked (SMTP replies quote them). */
const truncate = (raw: string) => {
  const text = maskEmails(raw);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
};
const channelList = (value: unknown) =>
  String(value ?? '')
    .split(',')
    .filter(Boolean) as ChannelName[];

/**
 * The outbox worker. Claims due notices in batches, sends each on its channels, and records the
 * outcome. A claim is a lease (claim_token, claimed_until) taken in one short transaction; on
 * PostgreSQL with FOR UPDATE SKIP LOCKED, so replicas polling together take different notices and
 * none waits on another. Sends are aborted before the lease ends, so no notice is sent by two
 * replicas; a replica that dies mid-batch leaves its notices to be retried once the lease is over.
 */
@Injectable()
export class DeliveryService implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryService.name);
  private readonly policy: RetryPolicy;
  private readonly running = new Set<Promise<unknown>>();
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly appErrors: AppErrors,
    @Inject(NOTICE_CHANNELS) private readonly channels: NoticeChannels,
    @InjectMetric(NOTICES_TOTAL) private readonly noticesTotal: Counter<'channel' | 'status'>,
  ) {
    this.policy = {
      maxAttempts: env.NOTICE_MAX_ATTEMPTS,
      baseMs: env.NOTICE_RETRY_BASE_SECONDS * 1000,
      maxMs: env.NOTICE_RETRY_MAX_SECONDS * 1000,
    };
    for (const channel of channels.keys()) {
      for (const status of ['pending', 'sent', 'failed', 'dead']) noticesTotal.inc({ channel, status }, 0);
    }
  }

  onApplicationBootstrap(): void {
    if (this.env.NOTICE_POLL_SECONDS === 0) return;
    this.timer = setInterval(() => void this.poll(), this.env.NOTICE_POLL_SECONDS * 1000);
    this.timer.unref();
  }

  /** Shutdown waits for passes in flight (their sends are bounded by the lease), while the database is still open. */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.running]);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const channel of this.channels.values()) await channel.close?.();
  }

  /**
   * Delivers every notice that is due, batch after batch, until none is left or `budgetMs` has
   * passed. Notices whose deletion has already happened are marked dead first.
   */
  deliverDue(options: { budgetMs?: number } = {}): Promise<DeliverySummary> {
    const pass = this.pass(options.budgetMs ?? Number.POSITIVE_INFINITY);
    this.running.add(pass);
    void pass.catch(() => undefined).finally(() => this.running.delete(pass));
    return pass;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const summary = await this.deliverDue({ budgetMs: this.env.NOTICE_POLL_SECONDS * 1000 });
      if (summary.claimed + summary.expired > 0) this.logger.log(summary, 'delivery pass');
    } catch (error) {
      this.appErrors.count('scheduled_notifications');
      this.logger.error({ err: error }, 'delivery pass failed');
    } finally {
      this.polling = false;
    }
  }

  private async pass(budgetMs: number): Promise<DeliverySummary> {
    const started = performance.now();
    const summary: DeliverySummary = { claimed: 0, sent: 0, failed: 0, dead: 0, expired: 0, more: false, durationMs: 0 };
    summary.expired = await this.expireOverdue(this.clock.now());
    for (;;) {
      if (performance.now() - started > budgetMs) {
        summary.more = true;
        break;
      }
      const token = randomUUID();
      const batch = await this.claim(token, this.clock.now());
      if (batch.length === 0) break;
      summary.claimed += batch.length;
      const outcomes = await this.sendBatch(batch);
      await this.record(token, outcomes);
      for (const o of outcomes) summary[o.status] += 1;
    }
    summary.durationMs = Math.round(performance.now() - started);
    return summary;
  }

  /**
   * Takes up to NOTICE_BATCH_SIZE due notices under a lease and counts the attempt. The conditions
   * are repeated outside the subquery so that, on PostgreSQL, a row another replica claimed
   * meanwhile is re-checked and left alone.
   */
  private async claim(token: string, now: Date): Promise<Claimed[]> {
    const p = new SqlParams(this.db.kind);
    const leaseUntil = new Date(now.getTime() + this.env.NOTICE_LEASE_SECONDS * 1000);
    const due = (n: string) =>
      `${n}.status IN ('pending', 'failed') AND ${n}.next_attempt_at <= ${p.add(now)} AND ${n}.cleanup_at > ${p.add(now)} AND (${n}.claimed_until IS NULL OR ${n}.claimed_until <= ${p.add(now)})`;
    const sql = `UPDATE notice SET claim_token = ${p.add(token)}, claimed_until = ${p.add(leaseUntil)}, attempts = attempts + 1
 WHERE id IN (SELECT d.id FROM notice d WHERE ${due('d')} ORDER BY d.next_attempt_at, d.id LIMIT ${p.add(this.env.NOTICE_BATCH_SIZE)}${this.db.kind === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : ''})
   AND ${due('notice')}
RETURNING id, guardian_id, cleanup_at, locale, channel, delivered_channels, attempts, children, messages, conversations, groups, short_notice, time_zone`;
    const { records } = await this.db.write(sql, p.values);
    return records.map((r) => ({
      id: String(r.id),
      guardianId: String(r.guardian_id),
      cleanupAt: fromSqlTimestamp(r.cleanup_at)!,
      locale: r.locale as Locale,
      channels: channelList(r.channel),
      delivered: channelList(r.delivered_channels),
      attempts: Number(r.attempts),
      children: JSON.parse(String(r.children)) as ChildCounts[],
      messages: Number(r.messages),
      conversations: Number(r.conversations),
      groups: r.groups ? (JSON.parse(String(r.groups)) as NoticeGroup[]) : [],
      shortNotice: fromSqlBoolean(r.short_notice as boolean | number),
      timeZone: r.time_zone ? String(r.time_zone) : null,
    }));
  }

  private async sendBatch(batch: Claimed[]): Promise<Outcome[]> {
    const recipients = await this.recipients(batch.map((n) => n.guardianId));
    // Real time, not the clock: this bounds I/O so the lease is never outlived.
    const signal = AbortSignal.timeout(Math.round(this.env.NOTICE_LEASE_SECONDS * 1000 * (1 - LEASE_SAFETY)));
    // Every send in flight listens to it (a channel may add two listeners).
    setMaxListeners(SEND_CONCURRENCY * 2 + 10, signal);
    return mapWithConcurrency(batch, SEND_CONCURRENCY, (notice) => this.sendOne(notice, recipients.get(notice.guardianId), signal));
  }

  private async sendOne(notice: Claimed, recipient: Recipient | undefined, signal: AbortSignal): Promise<Outcome> {
    const delivered = [...notice.delivered];
    const errors: string[] = [];
    if (!recipient) {
      errors.push('the guardian no longer exists');
    } else {
      const timeZone = notice.timeZone ?? recipient.timeZone;
      const groups = noticeGroups(notice, timeZone);
      const outgoing: OutgoingNotice = {
        id: notice.id,
        guardianId: notice.guardianId,
        to: recipient.email,
        guardianName: recipient.name,
        locale: notice.locale,
        cleanupAt: notice.cleanupAt,
        timeZone,
        groups,
        shortNotice: notice.shortNotice,
        children: notice.children,
        messages: notice.messages,
        conversations: notice.conversations,
        rendered: renderNotice({
          locale: notice.locale,
          guardianName: recipient.name,
          timeZone,
          groups,
          shortNotice: notice.shortNotice,
          daysBefore: this.env.NOTICE_DAYS_BEFORE,
        }),
      };
      for (const name of notice.channels.filter((c) => !delivered.includes(c))) {
        const channel = this.channels.get(name);
        try {
          if (!channel) throw new Error('is not configured on this replica');
          await channel.send(outgoing, signal);
          delivered.push(name);
          this.noticesTotal.inc({ channel: name, status: 'sent' });
        } catch (error) {
          errors.push(`${name}: ${(error as Error)?.message ?? String(error)}`);
          this.noticesTotal.inc({ channel: name, status: 'failed' });
        }
      }
    }
    if (errors.length === 0) return { id: notice.id, delivered, status: 'sent' };

    const error = truncate(errors.join('; '));
    this.appErrors.count('scheduled_notifications');
    const next = afterFailure(this.policy, notice.attempts, this.clock.now(), notice.cleanupAt);
    const pending = notice.channels.filter((c) => !delivered.includes(c));
    if (next.status === 'dead') {
      for (const channel of pending) this.noticesTotal.inc({ channel, status: 'dead' });
      this.logger.error(
        { noticeId: notice.id, guardianId: notice.guardianId, cleanupAt: notice.cleanupAt.toISOString(), attempts: notice.attempts, error },
        `notice is dead: ${next.reason}`,
      );
      return { id: notice.id, delivered, status: 'dead', error: `${next.reason}: ${error}` };
    }
    this.logger.warn(
      { noticeId: notice.id, attempts: notice.attempts, nextAttemptAt: next.nextAttemptAt.toISOString(), error },
      'notice delivery failed; will retry',
    );
    return { id: notice.id, delivered, status: 'failed', nextAttemptAt: next.nextAttemptAt, error };
  }

  /** Who the notices go to, as the guardians are now: their address, name and time zone (theirs, or the service's). */
  private async recipients(guardianIds: string[]): Promise<Map<string, Recipient>> {
    const ids = [...new Set(guardianIds)];
    const p = new SqlParams(this.db.kind);
    const rows: { id: string; email: string; name: string; timeZone: string | null }[] = await this.db.dataSource.query(
      `SELECT id, email, display_name AS name, time_zone AS "timeZone" FROM guardian WHERE id IN (${ids.map((id) => p.add(id)).join(', ')})`,
      p.values,
    );
    return new Map(rows.map((r) => [r.id, { email: r.email, name: r.name, timeZone: r.timeZone ?? schedulerTimezone(this.env) }]));
  }

  /** Writes a batch's outcomes and releases its lease, only where this pass still holds it. */
  private async record(token: string, outcomes: Outcome[]): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (m) => {
      const sent = outcomes.filter((o) => o.status === 'sent');
      if (sent.length > 0) {
        const p = new SqlParams(this.db.kind);
        const result = await execute(
          m,
          `UPDATE notice SET status = 'sent', sent_at = ${p.add(now)}, delivered_channels = channel, claim_token = NULL, claimed_until = NULL
            WHERE claim_token = ${p.add(token)} AND id IN (${sent.map((o) => p.add(o.id)).join(', ')})`,
          p.values,
        );
        if (result.affected < sent.length) {
          // Only if the lease ran out (sends are aborted before that) or the guardian was erased meanwhile.
          this.logger.warn({ expected: sent.length, recorded: result.affected }, 'some sent notices were no longer held by this pass');
        }
      }
      for (const o of outcomes) {
        if (o.status === 'sent') continue;
        const p = new SqlParams(this.db.kind);
        await m.query(
          `UPDATE notice SET status = ${p.add(o.status)}, next_attempt_at = ${p.add(o.status === 'failed' ? o.nextAttemptAt : now)},
                  last_error = ${p.add(o.error)}, delivered_channels = ${p.add(o.delivered.join(','))}, claim_token = NULL, claimed_until = NULL
            WHERE claim_token = ${p.add(token)} AND id = ${p.add(o.id)}`,
          p.values,
        );
      }
    });
  }

  /** Notices still undelivered when the deletion they warn about is due: dead, loudly, never dropped silently. */
  private async expireOverdue(now: Date): Promise<number> {
    const p = new SqlParams(this.db.kind);
    const sql = `UPDATE notice SET status = 'dead', last_error = ${p.add('not delivered before the deletion it warns about')}, claim_token = NULL, claimed_until = NULL
 WHERE status IN ('pending', 'failed') AND cleanup_at <= ${p.add(now)} AND (claimed_until IS NULL OR claimed_until <= ${p.add(now)})
RETURNING id, channel, delivered_channels`;
    const { records: rows } = await this.db.write<{ id: string; channel: string; delivered_channels: string }>(sql, p.values);
    if (rows.length === 0) return 0;
    for (const row of rows) {
      this.appErrors.count('scheduled_notifications');
      const delivered = channelList(row.delivered_channels);
      for (const channel of channelList(row.channel).filter((c) => !delivered.includes(c)))
        this.noticesTotal.inc({ channel, status: 'dead' });
    }
    this.logger.error(
      { notices: rows.length, ids: rows.slice(0, 20).map((r) => r.id) },
      `${rows.length} notices are dead: their deletion time passed before they could be delivered`,
    );
    return rows.length;
  }
}

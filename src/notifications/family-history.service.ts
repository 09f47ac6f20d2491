import { Injectable, NotFoundException } from '@nestjs/common';
import { CleanupReport } from '../cleanup/cleanup-report.entity';
import { Clock } from '../common/clock';
import { Env, schedulerTimezone } from '../config/env.validation';
import { Database } from '../database/database.service';
import { fromSqlTimestamp, SqlParams, sqlTimestamp } from '../database/sql';
import { ErasureRecord } from '../records/erasure-record.entity';
import { Guardian } from '../records/guardian.entity';
import { noticeGroups } from './digest';
import { Announcement, DeletionDto, FamilyHistoryDto, StoredDto } from './dto/family-history.dto';
import { Notice } from './notice.entity';

/**
 * "When was this family's data deleted, and when were they told?" in one answer: each deletion (per
 * child and date) with the notice that announced it and whether it reached them before, the notices
 * themselves, and any erasure on request. Cleanup reports are aggregate, so a scheduled deletion is
 * evidenced by the notice (what this family would lose at T) together with the report of the run at T.
 * Notices are the record: every deletion a notice run saw coming has one, sent or not ('suppressed' for
 * a guardian with notices off), so a deletion nobody was told of still shows, marked as such.
 */
@Injectable()
export class FamilyHistoryService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
  ) {}

  async history(guardianId: string): Promise<FamilyHistoryDto> {
    const ds = this.db.dataSource;
    const guardian = await ds.getRepository(Guardian).findOneBy({ id: guardianId });
    const notices = await ds.getRepository(Notice).find({ where: { guardianId }, order: { cleanupAt: 'DESC' } });
    const erasures = await ds.getRepository(ErasureRecord).find({ where: { guardianId }, order: { erasedAt: 'DESC' } });
    if (!guardian && notices.length === 0 && erasures.length === 0)
      throw new NotFoundException(`guardian ${guardianId}: no data, notices or erasures on record`);

    const told = notices.map((n) => ({ n, groups: noticeGroups(n, n.timeZone ?? guardian?.timezone ?? schedulerTimezone(this.env)) }));
    // Every deletion time announced (a notice's cleanupAt is its first group's).
    const times = [...new Set(told.flatMap(({ groups }) => groups.map((g) => Date.parse(g.deleteAt))))].map((t) => new Date(t));
    const reports = times.length
      ? await ds
          .getRepository(CleanupReport)
          .createQueryBuilder('r')
          // SQLite compares timestamps as text: bind them in the stored form.
          .where('r.scheduled_for IN (:...times)', { times: times.map((at) => sqlTimestamp(this.db.kind, at)) })
          .orderBy('r.started_at', 'DESC')
          .getMany()
      : [];
    const byTime = new Map<number, CleanupReport>();
    // The latest non-dry run for each scheduled time, preferring one that succeeded.
    for (const r of reports) {
      if (r.dryRun) continue;
      const seen = byTime.get(r.scheduledFor.getTime());
      if (!seen || (seen.status !== 'succeeded' && r.status === 'succeeded')) byTime.set(r.scheduledFor.getTime(), r);
    }

    let stored: StoredDto | null = null;
    if (guardian) {
      const p = new SqlParams(this.db.kind);
      const [row] = await ds.query(
        `SELECT (SELECT COUNT(*) FROM child WHERE guardian_id = ${p.add(guardianId)}) AS children,
                COUNT(m.id) AS messages, MIN(m.created_at) AS oldest
           FROM message m JOIN conversation c ON c.id = m.conversation_id JOIN child ch ON ch.id = c.child_id
          WHERE ch.guardian_id = ${p.add(guardianId)}`,
        p.values,
      );
      stored = { children: Number(row.children), messages: Number(row.messages), oldestMessageAt: fromSqlTimestamp(row.oldest) ?? null };
    }
    const cleanupAt = (at: number) => {
      const report = byTime.get(at);
      return report ? { reportId: report.id, status: report.status, trigger: report.trigger, finishedAt: report.finishedAt } : null;
    };
    const now = this.clock.now().getTime();
    const deletions: DeletionDto[] = told
      .flatMap(({ n, groups }) =>
        groups.map((g): DeletionDto => {
          const at = Date.parse(g.deleteAt);
          return {
            date: g.date,
            deleteAt: new Date(at),
            childId: g.childId,
            displayName: g.displayName,
            messages: g.messages,
            conversations: g.conversations,
            late: g.late,
            noticeId: n.id,
            noticeSentAt: n.sentAt,
            announcement: announcement(n, at, now),
            cleanup: cleanupAt(at),
          };
        }),
      )
      .sort((a, b) => b.deleteAt.getTime() - a.deleteAt.getTime() || a.displayName.localeCompare(b.displayName));
    return {
      guardianId,
      exists: Boolean(guardian),
      stored,
      deletions,
      notices: notices.map((n) => {
        const report = byTime.get(n.cleanupAt.getTime());
        return {
          noticeId: n.id,
          cleanupAt: n.cleanupAt,
          status: n.status,
          channel: n.channel,
          sentAt: n.sentAt,
          messages: n.messages,
          conversations: n.conversations,
          cleanup: report ? { reportId: report.id, status: report.status, trigger: report.trigger, finishedAt: report.finishedAt } : null,
        };
      }),
      erasures: erasures.map(({ erasedAt, erasedBy, children, conversations, messages }) => ({
        erasedAt,
        erasedBy,
        children,
        conversations,
        messages,
      })),
    };
  }
}

/**
 * Whether the family was told of a deletion at `at` before it: by a notice delivered in time ('sent'), one
 * delivered after ('sent_late'), one not delivered yet with the deletion still ahead ('pending'), one that
 * never reached them ('undelivered'), or none because they turned notices off ('notices_off').
 */
function announcement(n: Notice, at: number, now: number): Announcement {
  if (n.status === 'suppressed') return 'notices_off';
  if (n.sentAt) return n.sentAt.getTime() <= at ? 'sent' : 'sent_late';
  return n.status !== 'dead' && at > now ? 'pending' : 'undelivered';
}

import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Database } from '../database/database.service';
import { fromSqlTimestamp, SqlParams } from '../database/sql';
import { FireCalendar } from '../common/cron/fire-calendar';
import { CleanupService } from './cleanup.service';
import { PreviewDto } from './dto/preview.dto';
import { planMessageDue } from './retention';

/** What the next scheduled cleanup (or one at a given time) would delete, computed with the run's own predicates. */
@Injectable()
export class PreviewService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly cleanup: CleanupService,
  ) {}

  /** What a cleanup at `at` would delete; without `at`, the next one in `calendar` (with every cleanup job paused, a run now). */
  async preview(at: Date | undefined, calendar: FireCalendar, limit: number, offset: number): Promise<PreviewDto> {
    const now = this.clock.now();
    const runAt = at ?? calendar.next(now) ?? now;
    const plan = await this.cleanup.plan(runAt);
    const counts = await this.cleanup.count(plan);

    const p = new SqlParams(this.db.kind);
    const due = planMessageDue(plan, p);
    // A grouping over every due message: off the event loop on SQLite, like the counts.
    const rows = await this.db.heavyRead<{
      guardianId: string;
      childId: string;
      retentionDays: number | null;
      messages: string | number;
      conversations: string | number;
      oldest: string | Date;
    }>(
      `SELECT ch.guardian_id AS "guardianId", ch.id AS "childId", g.retention_days AS "retentionDays",
                COUNT(*) AS messages, COUNT(DISTINCT m.conversation_id) AS conversations, MIN(m.created_at) AS oldest
           FROM message m
           JOIN conversation c ON c.id = m.conversation_id
           JOIN child ch ON ch.id = c.child_id
           JOIN guardian g ON g.id = ch.guardian_id
          WHERE ${due}
          GROUP BY ch.guardian_id, ch.id, g.retention_days
          ORDER BY ch.guardian_id, ch.id
          LIMIT ${p.add(limit + 1)} OFFSET ${p.add(offset)}`,
      p.values,
    );
    const [oldest] = await this.db.dataSource.query('SELECT MIN(created_at) AS oldest FROM message');
    const oldestAt = fromSqlTimestamp(oldest?.oldest);

    return {
      at: runAt.toISOString(),
      scheduled: at === undefined,
      cutoff: plan.cutoff.toISOString(),
      policy: {
        retentionDays: plan.retentionDays,
        shorter: plan.segments.filter((s) => s.after).map((s) => ({ retentionDays: s.retentionDays, cutoff: s.cutoff.toISOString() })),
      },
      counts,
      oldestMessageAt: oldestAt?.toISOString() ?? null,
      oldestMessageAgeSeconds: oldestAt ? Math.max(0, Math.floor((now.getTime() - oldestAt.getTime()) / 1000)) : null,
      breakdown: {
        items: rows.slice(0, limit).map((r) => ({
          guardianId: r.guardianId,
          childId: r.childId,
          retentionDays: r.retentionDays === null ? plan.retentionDays : Number(r.retentionDays),
          messages: Number(r.messages),
          conversationsWithExpiringMessages: Number(r.conversations),
          oldestMessageAt: fromSqlTimestamp(r.oldest)!.toISOString(),
        })),
        limit,
        offset,
        nextOffset: rows.length > limit ? offset + limit : null,
      },
    };
  }
}

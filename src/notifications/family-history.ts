import { Controller, Get, Injectable, NotFoundException } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Roles } from '../admin/roles.decorator';
import { CleanupReport } from '../cleanup/cleanup-report.entity';
import { ApiErrors } from '../common/api-errors.decorator';
import { ErrorResponseDto } from '../common/error-response.dto';
import { UuidParam } from '../common/uuid-param';
import { Database } from '../database/database.service';
import { fromSqlTimestamp, SqlParams, sqlTimestamp } from '../database/sql';
import { ErasureRecord } from '../records/erasure-record.entity';
import { Guardian } from '../records/guardian.entity';
import { Notice, NOTICE_STATUSES } from './notice.entity';

const UUID = '3f0c2a8e-6d1b-4c57-9a8e-2b7d1e4f6a90';

class StoredDto {
  @ApiProperty({ example: 2 }) children: number;
  @ApiProperty({ example: 310 }) messages: number;
  @ApiProperty({ type: Date, nullable: true, example: '2026-10-30T08:00:00.000Z' }) oldestMessageAt: Date | null;
}

class TellingDto {
  @ApiProperty({ format: 'uuid', example: UUID }) noticeId: string;
  @ApiProperty({ example: '2026-12-02T00:00:00.000Z', description: 'The cleanup run the notice warned about' }) cleanupAt: Date;
  @ApiProperty({ enum: NOTICE_STATUSES, example: 'sent' }) status: string;
  @ApiProperty({ example: 'smtp' }) channel: string;
  @ApiProperty({ type: Date, nullable: true, example: '2026-11-30T23:00:01.000Z', description: 'When it was delivered' }) sentAt: Date | null;
  @ApiProperty({ example: 42, description: 'Messages it announced' }) messages: number;
  @ApiProperty({ example: 3 }) conversations: number;
  @ApiProperty({ type: Object, nullable: true, description: 'The cleanup run at cleanupAt, if it has run: its report id, status and finish time', example: null })
  cleanup: { reportId: string; status: string; trigger: string; finishedAt: Date | null } | null;
}

class ErasureDto {
  @ApiProperty({ example: '2026-11-28T09:31:00.000Z' }) erasedAt: Date;
  @ApiProperty({ example: 'ingest' }) erasedBy: string;
  @ApiProperty({ example: 1 }) children: number;
  @ApiProperty({ example: 4 }) conversations: number;
  @ApiProperty({ example: 120 }) messages: number;
}

class FamilyHistoryDto {
  @ApiProperty({ format: 'uuid', example: UUID }) guardianId: string;
  @ApiProperty({ example: true, description: 'false once the family has been erased' }) exists: boolean;
  @ApiProperty({ type: StoredDto, nullable: true, description: 'What is stored now' }) stored: StoredDto | null;
  @ApiProperty({ type: [TellingDto], description: 'Every deletion notice, newest first, with the cleanup it announced' }) notices: TellingDto[];
  @ApiProperty({ type: [ErasureDto], description: 'Erasures on request' }) erasures: ErasureDto[];
}

/**
 * "When was this family's data deleted, and when were they told?" in one answer: the family's notices
 * (when each was delivered and what it announced), the cleanup run each one announced (its report),
 * and any erasure on request. Cleanup reports are aggregate, so a scheduled deletion is evidenced by
 * the notice (what this family would lose at T) together with the report of the run at T.
 */
@Injectable()
export class FamilyHistoryService {
  constructor(private readonly db: Database) {}

  async history(guardianId: string): Promise<FamilyHistoryDto> {
    const ds = this.db.dataSource;
    const guardian = await ds.getRepository(Guardian).findOneBy({ id: guardianId });
    const notices = await ds.getRepository(Notice).find({ where: { guardianId }, order: { cleanupAt: 'DESC' } });
    const erasures = await ds.getRepository(ErasureRecord).find({ where: { guardianId }, order: { erasedAt: 'DESC' } });
    if (!guardian && notices.length === 0 && erasures.length === 0) throw new NotFoundException(`guardian ${guardianId}: no data, notices or erasures on record`);

    const times = [...new Set(notices.map((n) => n.cleanupAt.getTime()))].map((t) => new Date(t));
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
    return {
      guardianId,
      exists: Boolean(guardian),
      stored,
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
      erasures: erasures.map(({ erasedAt, erasedBy, children, conversations, messages }) => ({ erasedAt, erasedBy, children, conversations, messages })),
    };
  }
}

@ApiTags('admin')
@Roles('viewer')
@Controller('admin/families')
export class FamilyHistoryController {
  constructor(private readonly families: FamilyHistoryService) {}

  @Get(':guardianId/history')
  @ApiOperation({
    summary: "When this family's data was (or will be) deleted, and when they were told",
    description: 'Notices with their delivery and the cleanup run each announced, erasures on request, and what is stored now.',
  })
  @ApiOkResponse({ type: FamilyHistoryDto })
  @ApiNotFoundResponse({ description: 'Nothing on record for this guardian', type: ErrorResponseDto })
  @ApiErrors(400)
  history(@UuidParam('guardianId') guardianId: string): Promise<FamilyHistoryDto> {
    return this.families.history(guardianId);
  }
}

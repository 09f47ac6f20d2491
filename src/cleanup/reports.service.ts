import { Injectable } from '@nestjs/common';
import { decodeCursor, Page, toPage } from '../common/cursor';
import { Database } from '../database/database.service';
import { CleanupReport } from './cleanup-report.entity';

@Injectable()
export class ReportsService {
  constructor(private readonly db: Database) {}

  async list(limit: number, cursor?: string, status?: string): Promise<Page<CleanupReport>> {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const qb = this.db.dataSource
      .getRepository(CleanupReport)
      .createQueryBuilder('r')
      .orderBy('r.started_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit + 1);
    if (status) qb.andWhere('r.status = :status', { status });
    if (after) qb.andWhere('(r.started_at < :at OR (r.started_at = :at AND r.id < :id))', after);
    return toPage(await qb.getMany(), limit, (r) => ({ at: r.startedAt, id: r.id }));
  }
}

import { Injectable } from '@nestjs/common';
import { keysetPage, Page } from '../common/cursor';
import { Database } from '../database/database.service';
import { CleanupReport } from './cleanup-report.entity';

@Injectable()
export class ReportsService {
  constructor(private readonly db: Database) {}

  async list(limit: number, cursor?: string, status?: string): Promise<Page<CleanupReport>> {
    const qb = this.db.dataSource.getRepository(CleanupReport).createQueryBuilder('r');
    if (status) qb.where('r.status = :status', { status });
    return keysetPage(qb, { at: 'r.started_at', id: 'r.id', order: 'DESC' }, limit, cursor, (r) => ({ at: r.startedAt, id: r.id }));
  }
}

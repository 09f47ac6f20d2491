import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { keysetPage, Page } from '../common/cursor';
import { Database } from '../database/database.service';
import { AuditEntry } from './audit.entity';

export interface AuditActor {
  role: string;
  requestId?: string;
}

@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /**
   * Records a change inside the caller's transaction, so the change and its audit entry are written
   * together or not at all.
   */
  async record(
    m: EntityManager,
    actor: AuditActor,
    action: string,
    target: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<AuditEntry> {
    const entry: AuditEntry = {
      id: randomUUID(),
      at: this.clock.now(),
      actor: actor.role,
      action,
      target,
      before,
      after,
      requestId: actor.requestId ?? null,
    };
    await m.insert(AuditEntry, entry);
    this.logger.log(
      { audit: { actor: entry.actor, action, target, before, after, requestId: entry.requestId } },
      `${entry.actor} ${action} ${target}`,
    );
    return entry;
  }

  list(limit: number, cursor?: string, target?: string): Promise<Page<AuditEntry>> {
    const qb = this.db.dataSource.getRepository(AuditEntry).createQueryBuilder('a');
    if (target) qb.where('a.target = :target', { target });
    return keysetPage(qb, { at: 'a.at', id: 'a.id', order: 'DESC' }, limit, cursor, (a) => ({ at: a.at, id: a.id }));
  }
}

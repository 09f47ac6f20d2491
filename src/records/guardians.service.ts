import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { AuditActor, AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { keysetPage, Page } from '../common/cursor';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { isUniqueViolation } from '../database/errors';
import { Child } from './child.entity';
import { createOnce, Created } from './client-id';
import { CreateGuardianDto } from './dto/create-guardian.dto';
import { ErasureDto } from './dto/responses.dto';
import { GUARDIAN_SETTINGS, UpdateGuardianDto } from './dto/update-guardian.dto';
import { ErasureRecord } from './erasure-record.entity';
import { Guardian } from './guardian.entity';
import { Message } from './message.entity';
import { Conversation } from './conversation.entity';

const DEFAULT_PAGE = 50;

/** The audit shows that a name changed, not the name: the trail outlives an erased family. */
const auditable = (g: Partial<Guardian>) => ({ ...g, ...(g.displayName !== undefined ? { displayName: '(changed)' } : {}) });

/** Guardians (parents): registration, their settings, their children, and the erasure of a family. */
@Injectable()
export class GuardiansService {
  private readonly logger = new Logger(GuardiansService.name);

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly audit: AuditService,
  ) {}

  async create(dto: CreateGuardianDto): Promise<Created<Guardian>> {
    this.checkRetention(dto.retentionDays);
    const sent: Partial<Guardian> = {
      email: dto.email.toLowerCase(),
      displayName: dto.displayName,
      locale: dto.locale ?? undefined,
      retentionDays: dto.retentionDays ?? undefined,
      notificationsEnabled: dto.notificationsEnabled ?? undefined,
      timezone: dto.timezone ?? undefined,
      noticeFrequency: dto.noticeFrequency ?? undefined,
    };
    const guardian: Guardian = {
      id: dto.id ?? randomUUID(),
      email: sent.email!,
      displayName: dto.displayName,
      locale: dto.locale ?? 'en',
      retentionDays: dto.retentionDays ?? null,
      notificationsEnabled: dto.notificationsEnabled ?? true,
      timezone: dto.timezone ?? null,
      noticeFrequency: dto.noticeFrequency ?? 'digest',
      createdAt: this.clock.now(),
    };
    try {
      const insert = () => this.db.transaction((m) => m.insert(Guardian, guardian));
      return await createOnce('guardian', guardian, sent, dto.id, insert, (id) => this.find(id));
    } catch (error) {
      // Not a retry of this guardian: the e-mail belongs to another one.
      if (isUniqueViolation(error))
        throw new ConflictException('email is already registered to a guardian; GET /v1/guardians?email= finds it');
      throw error;
    }
  }

  async get(id: string): Promise<Guardian> {
    const guardian = await this.find(id);
    if (!guardian) throw new NotFoundException(`guardian ${id} not found`);
    return guardian;
  }

  async findByEmail(email: string): Promise<Guardian> {
    const guardian = await this.db.dataSource.getRepository(Guardian).findOne({ where: { email: email.toLowerCase() } });
    if (!guardian) throw new NotFoundException('no guardian is registered with this email');
    return guardian;
  }

  /** Changes a guardian's settings, audited; a shorter retention applies from the next cleanup and its notices. */
  async update(id: string, dto: UpdateGuardianDto, actor: AuditActor): Promise<Guardian> {
    const changes: Partial<Guardian> = {};
    for (const key of GUARDIAN_SETTINGS) if (dto[key] !== undefined) Object.assign(changes, { [key]: dto[key] });
    if (Object.keys(changes).length === 0) {
      throw new BadRequestException(`send at least one of ${GUARDIAN_SETTINGS.join(', ')}`);
    }
    this.checkRetention(changes.retentionDays);
    return this.db.transaction(async (m) => {
      const current = await this.lock(m, id);
      const before: Partial<Guardian> = {};
      const after: Partial<Guardian> = {};
      for (const key of Object.keys(changes) as (keyof Guardian)[]) {
        if (current[key] === changes[key]) continue;
        Object.assign(before, { [key]: current[key] });
        Object.assign(after, { [key]: changes[key] });
      }
      if (Object.keys(after).length === 0) return current;
      await m.update(Guardian, { id }, after);
      await this.audit.record(m, actor, 'guardian.update', `guardian:${id}`, auditable(before), auditable(after));
      return { ...current, ...after };
    });
  }

  async listChildren(guardianId: string, limit = DEFAULT_PAGE, cursor?: string): Promise<Page<Child>> {
    await this.get(guardianId);
    const qb = this.db.dataSource.getRepository(Child).createQueryBuilder('ch').where('ch.guardian_id = :guardianId', { guardianId });
    return keysetPage(qb, { at: 'ch.created_at', id: 'ch.id', order: 'ASC' }, limit, cursor, (c) => ({ at: c.createdAt, id: c.id }));
  }

  /**
   * The right to erasure: the guardian and everything under them, in one transaction, bottom-up so
   * each count is exactly what was removed (the cascades stay as a safety net). The erasure is
   * recorded (counts, who, when) in the same transaction.
   */
  async erase(guardianId: string, by: AuditActor = { role: 'unknown' }): Promise<ErasureDto> {
    const erasedAt = this.clock.now();
    const erased = await this.db.transaction(async (m) => {
      const exists = await m.getRepository(Guardian).exists({ where: { id: guardianId } });
      if (!exists) throw new NotFoundException(`guardian ${guardianId} not found`);
      const childIds = 'SELECT id FROM child WHERE guardian_id = :guardianId';
      const conversationIds = `SELECT id FROM conversation WHERE child_id IN (${childIds})`;
      // PostgreSQL has no message foreign key (the table is partitioned): the family's conversations
      // are locked first, which waits for the appends in flight into them and holds off the next
      // ones, so the message delete below (a new snapshot) sees every message there will be.
      if (this.db.kind === 'postgres') await m.query(`${conversationIds.replace(':guardianId', '$1')} FOR UPDATE`, [guardianId]);
      const del = async (entity: typeof Message | typeof Conversation | typeof Child | typeof Guardian, where: string) =>
        (await m.createQueryBuilder().delete().from(entity).where(where, { guardianId }).execute()).affected ?? 0;
      const messages = await del(Message, `conversation_id IN (${conversationIds})`);
      const conversations = await del(Conversation, `child_id IN (${childIds})`);
      const children = await del(Child, 'guardian_id = :guardianId');
      const guardians = await del(Guardian, 'id = :guardianId');
      await m.insert(ErasureRecord, {
        id: randomUUID(),
        guardianId,
        erasedAt,
        erasedBy: by.role,
        requestId: by.requestId ?? null,
        children,
        conversations,
        messages,
      });
      return { guardians, children, conversations, messages };
    });
    this.logger.log({ guardianId, erased, by: by.role }, 'guardian erased on request');
    return { guardianId, erasedAt, erased };
  }

  /** A guardian may shorten retention, never lengthen it past the promise made to every parent. */
  private checkRetention(days: number | null | undefined): void {
    if (typeof days === 'number' && days > this.env.RETENTION_DAYS) {
      throw new BadRequestException(`retentionDays must not be greater than ${this.env.RETENTION_DAYS} (RETENTION_DAYS)`);
    }
  }

  private find(id: string): Promise<Guardian | null> {
    return this.db.dataSource.getRepository(Guardian).findOne({ where: { id } });
  }

  /** The guardian, locked until the transaction ends on PostgreSQL (SQLite's writer lock already serializes). */
  private async lock(m: EntityManager, id: string): Promise<Guardian> {
    const guardian = await m
      .getRepository(Guardian)
      .findOne({ where: { id }, ...(this.db.kind === 'postgres' ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    if (!guardian) throw new NotFoundException(`guardian ${id} not found`);
    return guardian;
  }
}

import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { keysetPage, Page } from '../common/cursor';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { isForeignKeyViolation, isUniqueViolation } from '../database/errors';
import { isMissingPartition, MessagePartitions } from '../partitions/message-partitions';
import { Child } from './child.entity';
import { Conversation } from './conversation.entity';
import { AppendMessagesDto, MessageInputDto } from './dto/append-messages.dto';
import { CreateChildDto } from './dto/create-child.dto';
import { CreateConversationDto } from './dto/create-conversation.dto';
import { CreateGuardianDto } from './dto/create-guardian.dto';
import { ErasureDto } from './dto/responses.dto';
import { ErasureRecord } from './erasure-record.entity';
import { Guardian } from './guardian.entity';
import { messageId } from './message-id';
import { Message } from './message.entity';

const DEFAULT_PAGE = 50;

@Injectable()
export class RecordsService {
  private readonly logger = new Logger(RecordsService.name);

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly partitions: MessagePartitions,
  ) {}

  async createGuardian(dto: CreateGuardianDto): Promise<Guardian> {
    if (dto.retentionDays !== undefined && dto.retentionDays > this.env.RETENTION_DAYS) {
      // A guardian may shorten retention, never lengthen it past the promise made to every parent.
      throw new BadRequestException(`retentionDays must not be greater than ${this.env.RETENTION_DAYS} (RETENTION_DAYS)`);
    }
    const guardian: Guardian = {
      id: randomUUID(),
      email: dto.email.toLowerCase(),
      displayName: dto.displayName,
      locale: dto.locale ?? 'en',
      retentionDays: dto.retentionDays ?? null,
      notificationsEnabled: dto.notificationsEnabled ?? true,
      createdAt: this.clock.now(),
    };
    try {
      await this.db.transaction((m) => m.insert(Guardian, guardian));
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException('email is already registered to a guardian');
      throw error;
    }
    return guardian;
  }

  async createChild(guardianId: string, dto: CreateChildDto): Promise<Child> {
    const child: Child = { id: randomUUID(), guardianId, displayName: dto.displayName, createdAt: this.clock.now() };
    await this.insertUnder('guardian', guardianId, (m) => m.insert(Child, child));
    return child;
  }

  async createConversation(childId: string, dto: CreateConversationDto): Promise<Conversation> {
    const now = this.clock.now();
    const conversation: Conversation = {
      id: randomUUID(),
      childId,
      startedAt: this.pastOrNow(dto.startedAt, 'startedAt', now),
      createdAt: now,
    };
    await this.insertUnder('child', childId, (m) => m.insert(Conversation, conversation));
    return conversation;
  }

  /** Appends one message, or a batch in one transaction: all of it is written or none. */
  async appendMessages(conversationId: string, dto: AppendMessagesDto): Promise<{ single: boolean; messages: Message[] }> {
    const single = dto.messages === undefined;
    if (!single && (dto.role !== undefined || dto.text !== undefined || dto.createdAt !== undefined)) {
      throw new BadRequestException('messages cannot be combined with role, text or createdAt: send one message or a batch');
    }
    const inputs: MessageInputDto[] = single ? [{ role: dto.role!, text: dto.text!, createdAt: dto.createdAt }] : dto.messages!;
    const now = this.clock.now();
    const messages: Message[] = inputs.map((input, i) => {
      const createdAt = this.pastOrNow(input.createdAt, single ? 'createdAt' : `messages.${i}.createdAt`, now);
      return { id: messageId(createdAt), conversationId, role: input.role, text: input.text, createdAt };
    });
    const insert = () =>
      this.insertUnder('conversation', conversationId, (m) =>
        m.createQueryBuilder().insert().into(Message).values(messages).updateEntity(false).execute(),
      );
    // PostgreSQL: a message dated on a day with no partition yet (a backdated import, or a day the
    // cleanup just dropped) is refused whole; the days are created (once, however many importers
    // need them at the same time) and the insert tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        await insert();
        return { single, messages };
      } catch (error) {
        if (!this.partitions.enabled || !isMissingPartition(error) || attempt >= 3) throw error;
        await this.partitions.ensureFor(messages.map((m) => m.createdAt));
      }
    }
  }

  async listConversations(childId: string, limit = DEFAULT_PAGE, cursor?: string): Promise<Page<Conversation>> {
    await this.mustExist(Child, childId, 'child');
    const qb = this.db.dataSource.getRepository(Conversation).createQueryBuilder('c').where('c.child_id = :childId', { childId });
    return keysetPage(qb, { at: 'c.started_at', id: 'c.id', order: 'DESC' }, limit, cursor, (c) => ({ at: c.startedAt, id: c.id }));
  }

  async listMessages(conversationId: string, limit = DEFAULT_PAGE, cursor?: string): Promise<Page<Message>> {
    await this.mustExist(Conversation, conversationId, 'conversation');
    const qb = this.db.dataSource
      .getRepository(Message)
      .createQueryBuilder('m')
      .where('m.conversation_id = :conversationId', { conversationId });
    return keysetPage(qb, { at: 'm.created_at', id: 'm.id', order: 'ASC' }, limit, cursor, (m) => ({ at: m.createdAt, id: m.id }));
  }

  /**
   * The right to erasure: the guardian and everything under them, in one transaction, bottom-up so
   * each count is exactly what was removed (the cascades stay as a safety net).
   */
  /** Erases a family now, and records the erasure (counts, who, when) in the same transaction. */
  async eraseGuardian(guardianId: string, by: { role: string; requestId?: string } = { role: 'unknown' }): Promise<ErasureDto> {
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

  private pastOrNow(value: string | undefined, field: string, now: Date): Date {
    if (value === undefined) return now;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) throw new BadRequestException(`${field} is not a valid date-time`);
    if (at.getTime() > now.getTime()) {
      throw new BadRequestException(`${field} must not be in the future (server time ${now.toISOString()})`);
    }
    return at;
  }

  /** Inserts a row under a parent, answering 404 if the parent is missing or is erased meanwhile. */
  private async insertUnder(
    parent: 'guardian' | 'child' | 'conversation',
    parentId: string,
    insert: (m: EntityManager) => Promise<unknown>,
  ) {
    try {
      await this.db.transaction(async (m) => {
        if (!(await this.lockParent(m, parent, parentId))) throw new NotFoundException(`${parent} ${parentId} not found`);
        await insert(m);
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new NotFoundException(`${parent} ${parentId} not found`);
      throw error;
    }
  }

  /**
   * Whether the parent exists; on PostgreSQL, locked FOR KEY SHARE until the transaction ends, as a
   * foreign-key check would: a cleanup or an erasure deleting the conversation waits for this insert
   * (see BatchDeleter.deleteConversationBatch). The message table has no foreign key there.
   */
  private async lockParent(m: EntityManager, parent: 'guardian' | 'child' | 'conversation', id: string): Promise<boolean> {
    if (this.db.kind !== 'postgres') {
      const entity = { guardian: Guardian, child: Child, conversation: Conversation }[parent];
      return m.getRepository(entity).exists({ where: { id } });
    }
    const rows: unknown[] = await m.query(`SELECT 1 FROM ${parent} WHERE id = $1 FOR KEY SHARE`, [id]);
    return rows.length > 0;
  }

  private async mustExist(entity: typeof Child | typeof Conversation, id: string, name: string): Promise<void> {
    if (!(await this.db.dataSource.getRepository(entity).exists({ where: { id } }))) {
      throw new NotFoundException(`${name} ${id} not found`);
    }
  }
}

import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { keysetPage, Page } from '../common/cursor';
import { Env } from '../config/env.validation';
import { Database } from '../database/database.service';
import { isForeignKeyViolation, isUniqueViolation } from '../database/errors';
import { execute } from '../database/execute';
import { fromSqlTimestamp, sqlTimestamp } from '../database/sql';
import { isMissingPartition, MessagePartitions } from '../partitions/message-partitions';
import { Child } from './child.entity';
import { Conversation } from './conversation.entity';
import { AppendMessagesDto, MessageInputDto } from './dto/append-messages.dto';
import { CreateChildDto } from './dto/create-child.dto';
import { CreateConversationDto } from './dto/create-conversation.dto';
import { conflictText, createOnce, Created, differingFields } from './client-id';
import { Guardian } from './guardian.entity';
import { messageId } from './message-id';
import { Message } from './message.entity';

const DEFAULT_PAGE = 50;

@Injectable()
export class RecordsService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly env: Env,
    private readonly partitions: MessagePartitions,
  ) {}

  async createChild(guardianId: string, dto: CreateChildDto): Promise<Created<Child>> {
    const child: Child = { id: dto.id ?? randomUUID(), guardianId, displayName: dto.displayName, createdAt: this.clock.now() };
    const insert = () => this.insertUnder('guardian', guardianId, (m) => m.insert(Child, child));
    return createOnce('child', child, { guardianId, displayName: dto.displayName }, dto.id, insert, (id) => this.find(Child, id));
  }

  async createConversation(childId: string, dto: CreateConversationDto): Promise<Created<Conversation>> {
    const now = this.clock.now();
    const conversation: Conversation = {
      id: dto.id ?? randomUUID(),
      childId,
      startedAt: this.pastOrNow(dto.startedAt, 'startedAt', now),
      createdAt: now,
    };
    const sent = { childId, startedAt: dto.startedAt === undefined ? undefined : conversation.startedAt };
    const insert = () => this.insertUnder('child', childId, (m) => m.insert(Conversation, conversation));
    return createOnce('conversation', conversation, sent, dto.id, insert, (id) => this.find(Conversation, id));
  }

  /**
   * Appends one message, or a batch in one transaction: all of it is written or none. Messages whose
   * client id is already stored are not stored again; each item says whether this request stored it.
   */
  async appendMessages(conversationId: string, dto: AppendMessagesDto): Promise<{ single: boolean; items: Created<Message>[] }> {
    const single = dto.messages === undefined;
    if (!single && (dto.role !== undefined || dto.text !== undefined || dto.createdAt !== undefined || dto.id !== undefined)) {
      throw new BadRequestException('messages cannot be combined with id, role, text or createdAt: send one message or a batch');
    }
    const inputs: MessageInputDto[] = single ? [{ id: dto.id, role: dto.role!, text: dto.text!, createdAt: dto.createdAt }] : dto.messages!;
    const field = (i: number, name: string) => (single ? name : `messages.${i}.${name}`);
    const now = this.clock.now();
    const messages: Message[] = inputs.map((input, i) => {
      const createdAt = this.pastOrNow(input.createdAt, field(i, 'createdAt'), now);
      return { id: input.id ?? messageId(createdAt), conversationId, role: input.role, text: input.text, createdAt };
    });
    const clientIds = repeatedIdsRefused(inputs);
    const append = (m: EntityManager) => this.storeNew(m, conversationId, inputs, messages, clientIds);
    // PostgreSQL: a message dated on a day with no partition yet (a backdated import, or a day the
    // cleanup just dropped) is refused whole; the days are created (once, however many importers
    // need them at the same time) and the insert tried again. A unique violation is a client id
    // stored meanwhile by a request into another conversation: tried again, the lookup finds it.
    for (let attempt = 1; ; attempt++) {
      try {
        if (clientIds.length === 0) {
          await this.insertAll(conversationId, messages);
          return { single, items: messages.map((value) => ({ value, created: true })) };
        }
        return { single, items: await this.insertUnder('conversation', conversationId, append, true) };
      } catch (error) {
        if (attempt >= 3) throw error;
        if (this.partitions.enabled && isMissingPartition(error)) await this.partitions.ensureFor(messages.map((m) => m.createdAt));
        else if (!(clientIds.length > 0 && isUniqueViolation(error))) throw error;
      }
    }
  }

  /**
   * Messages without client ids, in one statement that inserts them only if the conversation exists
   * (nothing to look up first, so no transaction of several statements; the common path of the app).
   */
  private async insertAll(conversationId: string, messages: Message[]): Promise<void> {
    const { sql, params } = this.appendStatement(conversationId, messages);
    if ((await this.db.write(sql, params)).affected === 0) throw new NotFoundException(`conversation ${conversationId} not found`);
  }

  /**
   * INSERT of `messages` that adds nothing if the conversation does not exist. PostgreSQL: it locks the
   * conversation FOR KEY SHARE until it ends, as lockParent does, and the rows travel as four arrays,
   * so its text is the same for one message or a thousand.
   */
  private appendStatement(conversationId: string, messages: Message[]): { sql: string; params: unknown[] } {
    // received_at: the service's clock, whatever createdAt says; the notices tell backdated imports by it.
    const columns = 'INSERT INTO message (id, conversation_id, role, text, created_at, received_at)';
    const receivedAt = this.clock.now();
    if (this.db.kind === 'postgres') {
      return {
        sql: `WITH c AS (SELECT id FROM conversation WHERE id = $1 FOR KEY SHARE)
              ${columns} SELECT m.id, c.id, m.role, m.text, m.created_at, $6::timestamptz
                FROM c, unnest($2::uuid[], $3::varchar[], $4::text[], $5::timestamptz[]) AS m(id, role, text, created_at)`,
        params: [conversationId, ...(['id', 'role', 'text', 'createdAt'] as const).map((k) => messages.map((m) => m[k])), receivedAt],
      };
    }
    return {
      sql: `${columns} SELECT column1, ?, column2, column3, column4, ? FROM (VALUES ${messages.map(() => '(?, ?, ?, ?)').join(', ')})
             WHERE EXISTS (SELECT 1 FROM conversation WHERE id = ?)`,
      params: [
        conversationId,
        sqlTimestamp('sqlite', receivedAt),
        ...messages.flatMap((m) => [m.id, m.role, m.text, sqlTimestamp('sqlite', m.createdAt)]),
        conversationId,
      ],
    };
  }

  /**
   * Inside the append's transaction, with the conversation locked: the messages whose client id is
   * already stored are answered from the store (or refused whole with a 409 if their content differs),
   * and only the others are inserted.
   */
  private async storeNew(
    m: EntityManager,
    conversationId: string,
    inputs: MessageInputDto[],
    messages: Message[],
    clientIds: string[],
  ): Promise<Created<Message>[]> {
    const stored = new Map((await this.storedMessages(m, clientIds)).map((s) => [s.id, s]));
    const conflicts: string[] = [];
    const items = messages.map((message, i): Created<Message> => {
      const existing = stored.get(message.id);
      if (!existing) return { value: message, created: true };
      const { role, text, createdAt } = inputs[i];
      const differs = differingFields(
        { conversationId, role, text, createdAt: createdAt === undefined ? undefined : message.createdAt },
        existing,
      );
      if (differs.length > 0)
        conflicts.push(`${inputs.length > 1 ? `messages.${i}: ` : ''}${conflictText('message', message.id, differs)}`);
      return { value: existing, created: false };
    });
    if (conflicts.length > 0) throw new ConflictException(conflicts.length === 1 ? conflicts[0] : conflicts);
    const fresh = items.filter((item) => item.created).map((item) => item.value);
    if (fresh.length > 0) {
      const { sql, params } = this.appendStatement(conversationId, fresh);
      await execute(m, sql, params);
    }
    return items;
  }

  /**
   * The stored messages among `ids`, in any conversation. On PostgreSQL every partition's primary key
   * is searched (the id alone does not say which day it is in), by an index scan each: lockParent has
   * turned sequential scans off for this transaction, because the day being written has no planner
   * statistics until it is analyzed, and a plan made without them scans it whole.
   */
  private async storedMessages(m: EntityManager, ids: string[]): Promise<Message[]> {
    const select = 'SELECT id, conversation_id AS "conversationId", role, text, created_at AS "createdAt" FROM message';
    const rows: Message[] =
      this.db.kind === 'postgres'
        ? await m.query(`${select} WHERE id = ANY($1::uuid[])`, [ids])
        : await m.query(`${select} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
    return rows.map((r) => ({ ...r, createdAt: fromSqlTimestamp(r.createdAt)! }));
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

  private pastOrNow(value: string | undefined, field: string, now: Date): Date {
    if (value === undefined) return now;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) throw new BadRequestException(`${field} is not a valid date-time`);
    if (at.getTime() > now.getTime()) {
      throw new BadRequestException(`${field} must not be in the future (server time ${now.toISOString()})`);
    }
    return at;
  }

  /**
   * Inserts under a parent, answering 404 if the parent is missing or is erased meanwhile. `exclusive`
   * (appends carrying client ids): two such appends into one conversation take turns, so the second
   * finds what the first stored (see lockParent).
   */
  private async insertUnder<T>(
    parent: 'guardian' | 'child' | 'conversation',
    parentId: string,
    insert: (m: EntityManager) => Promise<T>,
    exclusive = false,
  ): Promise<T> {
    try {
      return await this.db.transaction(async (m) => {
        if (!(await this.lockParent(m, parent, parentId, exclusive))) throw new NotFoundException(`${parent} ${parentId} not found`);
        return insert(m);
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new NotFoundException(`${parent} ${parentId} not found`);
      throw error;
    }
  }

  /**
   * Whether the parent exists; on PostgreSQL, locked until the transaction ends. FOR KEY SHARE, as a
   * foreign-key check would: a cleanup or an erasure deleting the conversation waits for this insert
   * (see BatchDeleter.deleteConversationBatch); the message table has no foreign key there. Exclusive,
   * FOR NO KEY UPDATE: it also makes a second exclusive append wait, and PostgreSQL cannot refuse a
   * repeated message id by itself (the primary key of a table partitioned by created_at is
   * (id, created_at)). SQLite: BEGIN IMMEDIATE has already serialized every writer, and the primary key is the id.
   */
  private async lockParent(
    m: EntityManager,
    parent: 'guardian' | 'child' | 'conversation',
    id: string,
    exclusive: boolean,
  ): Promise<boolean> {
    if (this.db.kind !== 'postgres') {
      const entity = { guardian: Guardian, child: Child, conversation: Conversation }[parent];
      return m.getRepository(entity).exists({ where: { id } });
    }
    // Exclusive: also no sequential scans for the rest of the transaction (see storedMessages), set in the same round trip.
    const rows: unknown[] = exclusive
      ? await m.query(`SELECT set_config('enable_seqscan', 'off', true) FROM conversation WHERE id = $1 FOR NO KEY UPDATE`, [id])
      : await m.query(`SELECT 1 FROM ${parent} WHERE id = $1 FOR KEY SHARE`, [id]);
    return rows.length > 0;
  }

  private find<T extends Child | Conversation>(entity: new () => T, id: string): Promise<T | null> {
    return this.db.dataSource.getRepository<T>(entity).findOne({ where: { id } as never });
  }

  private async mustExist(entity: typeof Child | typeof Conversation, id: string, name: string): Promise<void> {
    if (!(await this.db.dataSource.getRepository(entity).exists({ where: { id } }))) {
      throw new NotFoundException(`${name} ${id} not found`);
    }
  }
}

/** The client ids of a batch; an id sent twice in one batch is a 400 naming both places. */
function repeatedIdsRefused(inputs: MessageInputDto[]): string[] {
  const first = new Map<string, number>();
  inputs.forEach((input, i) => {
    if (input.id === undefined) return;
    const j = first.get(input.id);
    if (j !== undefined) throw new BadRequestException(`messages.${i}.id repeats messages.${j}.id (${input.id})`);
    first.set(input.id, i);
  });
  return [...first.keys()];
}

import { Body, Controller, Get, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { UuidParam } from '../common/uuid-param';
import { AppendMessagesDto, MessageInputDto } from './dto/append-messages.dto';
import { answerCreated, RETRY_SAFE } from './client-id';
import { CreateConversationDto } from './dto/create-conversation.dto';
import { ListQueryDto } from '../common/list-query.dto';
import { ConversationDto, ConversationPageDto, MessageBatchDto, MessageDto, MessagePageDto } from './dto/responses.dto';
import { RecordsService } from './records.service';

@ApiTags('ingest')
@Roles('ingest')
@ApiExtraModels(MessageDto, MessageBatchDto, MessageInputDto)
@Controller('v1')
export class RecordsController {
  constructor(private readonly records: RecordsService) {}

  @Post('children/:childId/conversations')
  @ApiOperation({ summary: 'Start a conversation for a child', description: RETRY_SAFE })
  @ApiCreatedResponse({ type: ConversationDto, description: 'Started' })
  @ApiOkResponse({ type: ConversationDto, description: 'A retry: this id was already stored with this content' })
  @ApiErrors(400, 404, 409, 413)
  async createConversation(
    @UuidParam('childId') childId: string,
    @Body() dto: CreateConversationDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ConversationDto> {
    return answerCreated(res, await this.records.createConversation(childId, dto));
  }

  @Post('conversations/:conversationId/messages')
  @ApiOperation({
    summary: 'Append one message, or a batch of up to 1000 in one transaction',
    description:
      'Send `{ id?, role, text, createdAt? }` for one message, or `{ messages: [...] }` for a batch. createdAt may be backdated ' +
      '(imports), never in the future. Give each message your own `id` to make a retry safe: messages already stored under their ' +
      'id are not stored again (each batch item says `created: false`), and one stored with different content makes the whole ' +
      'request a 409 that names it.',
  })
  @ApiBody({
    type: AppendMessagesDto,
    examples: {
      single: { value: { id: '0193a1f2-7c4e-7d2a-9b1c-5e8f2a4d6c10', role: 'child', text: 'Teddy, why is the sky blue?' } },
      batch: {
        value: {
          messages: [
            { role: 'child', text: 'Good night Teddy', createdAt: '2026-11-01T19:00:00Z' },
            { role: 'teddy', text: 'Good night! Sweet dreams.', createdAt: '2026-11-01T19:00:02Z' },
          ],
        },
      },
    },
  })
  @ApiCreatedResponse({
    description: 'The created message (single form), or `{ items, count, createdCount }` (batch form) when at least one item is new',
    schema: { oneOf: [{ $ref: getSchemaPath(MessageDto) }, { $ref: getSchemaPath(MessageBatchDto) }] },
  })
  @ApiOkResponse({
    description: 'A retry: every message sent was already stored with this content (their ids); the stored messages',
    schema: { oneOf: [{ $ref: getSchemaPath(MessageDto) }, { $ref: getSchemaPath(MessageBatchDto) }] },
  })
  @ApiErrors(400, 404, 409, 413)
  async appendMessages(
    @UuidParam('conversationId') conversationId: string,
    @Body() dto: AppendMessagesDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageDto | MessageBatchDto> {
    const { single, items } = await this.records.appendMessages(conversationId, dto);
    const createdCount = items.filter((item) => item.created).length;
    if (createdCount === 0) res.status(200);
    if (single) return items[0].value;
    return { items: items.map((item) => ({ ...item.value, created: item.created })), count: items.length, createdCount };
  }

  @Get('children/:childId/conversations')
  @ApiOperation({ summary: "A child's conversations, newest first, paged by cursor" })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiErrors(400, 404)
  listConversations(@UuidParam('childId') childId: string, @Query() query: ListQueryDto): Promise<ConversationPageDto> {
    return this.records.listConversations(childId, query.limit, query.cursor);
  }

  @Get('conversations/:conversationId/messages')
  @ApiOperation({ summary: "A conversation's messages, oldest first, paged by cursor" })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiErrors(400, 404)
  listMessages(@UuidParam('conversationId') conversationId: string, @Query() query: ListQueryDto): Promise<MessagePageDto> {
    return this.records.listMessages(conversationId, query.limit, query.cursor);
  }
}

import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Post, Query, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Roles } from '../auth/roles.decorator';
import { ApiErrors } from '../common/api-errors.decorator';
import { UuidParam } from '../common/uuid-param';
import { AppendMessagesDto, MessageInputDto } from './dto/append-messages.dto';
import { CreateChildDto } from './dto/create-child.dto';
import { CreateConversationDto } from './dto/create-conversation.dto';
import { CreateGuardianDto } from './dto/create-guardian.dto';
import { ListQueryDto } from '../common/list-query.dto';
import {
  ChildDto,
  ConversationDto,
  ConversationPageDto,
  ErasureDto,
  GuardianDto,
  MessageBatchDto,
  MessageDto,
  MessagePageDto,
} from './dto/responses.dto';
import { RecordsService } from './records.service';

@ApiTags('ingest')
@Roles('ingest')
@ApiExtraModels(MessageDto, MessageBatchDto, MessageInputDto)
@Controller('v1')
export class RecordsController {
  constructor(private readonly records: RecordsService) {}

  @Post('guardians')
  @ApiOperation({ summary: 'Register a guardian (parent)' })
  @ApiCreatedResponse({ type: GuardianDto })
  @ApiErrors(400, 409, 413)
  createGuardian(@Body() dto: CreateGuardianDto): Promise<GuardianDto> {
    return this.records.createGuardian(dto);
  }

  @Post('guardians/:guardianId/children')
  @ApiOperation({ summary: "Add a child to a guardian's family" })
  @ApiCreatedResponse({ type: ChildDto })
  @ApiErrors(400, 404, 413)
  createChild(@UuidParam('guardianId') guardianId: string, @Body() dto: CreateChildDto): Promise<ChildDto> {
    return this.records.createChild(guardianId, dto);
  }

  @Post('children/:childId/conversations')
  @ApiOperation({ summary: 'Start a conversation for a child' })
  @ApiCreatedResponse({ type: ConversationDto })
  @ApiErrors(400, 404, 413)
  createConversation(@UuidParam('childId') childId: string, @Body() dto: CreateConversationDto): Promise<ConversationDto> {
    return this.records.createConversation(childId, dto);
  }

  @Post('conversations/:conversationId/messages')
  @ApiOperation({
    summary: 'Append one message, or a batch of up to 1000 in one transaction',
    description:
      'Send `{ role, text, createdAt? }` for one message, or `{ messages: [...] }` for a batch. createdAt may be backdated (imports), never in the future.',
  })
  @ApiBody({
    type: AppendMessagesDto,
    examples: {
      single: { value: { role: 'child', text: 'Teddy, why is the sky blue?' } },
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
    description: 'The created message (single form) or `{ items, count }` (batch form)',
    schema: { oneOf: [{ $ref: getSchemaPath(MessageDto) }, { $ref: getSchemaPath(MessageBatchDto) }] },
  })
  @ApiErrors(400, 404, 413)
  async appendMessages(
    @UuidParam('conversationId') conversationId: string,
    @Body() dto: AppendMessagesDto,
  ): Promise<MessageDto | MessageBatchDto> {
    const { single, messages } = await this.records.appendMessages(conversationId, dto);
    return single ? messages[0] : { items: messages, count: messages.length };
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

  @Delete('guardians/:guardianId')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Erase a guardian and all their children's data now (right to erasure)" })
  @ApiOkResponse({ type: ErasureDto })
  @ApiErrors(400, 404)
  eraseGuardian(@UuidParam('guardianId') guardianId: string, @Req() req: AuthedRequest): Promise<ErasureDto> {
    return this.records.eraseGuardian(guardianId, {
      role: req.principal!.role,
      requestId: typeof req.id === 'string' ? req.id : undefined,
    });
  }
}

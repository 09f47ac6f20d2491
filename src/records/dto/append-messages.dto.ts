import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { IsTimestamp, NoNul } from '../../common/validation';
import { ClientId } from '../client-id';
import { MESSAGE_ROLES, MessageRole } from '../message.entity';

export const MAX_BATCH = 1000;
export const MAX_TEXT = 4000;

export class MessageInputDto {
  @ClientId('message')
  id?: string;

  @ApiProperty({ enum: MESSAGE_ROLES, example: 'child' })
  @IsIn(MESSAGE_ROLES)
  role: MessageRole;

  @ApiProperty({ example: 'Teddy, why is the sky blue?', maxLength: MAX_TEXT })
  @IsString()
  @MinLength(1, { message: 'text must not be empty' })
  @NoNul()
  @MaxLength(MAX_TEXT)
  text: string;

  @ApiPropertyOptional({
    example: '2026-11-28T09:30:05Z',
    description: 'When it was said; defaults to now. May be in the past (imports), never in the future.',
  })
  @IsOptional()
  @IsTimestamp()
  createdAt?: string;
}

/** One message (`role`, `text`, `createdAt?`) or a batch (`messages`), never both. */
export class AppendMessagesDto {
  @ClientId('message (single form)')
  id?: string;

  @ApiPropertyOptional({ enum: MESSAGE_ROLES, example: 'child', description: 'Single form' })
  @ValidateIf((o: AppendMessagesDto) => o.messages === undefined || o.role !== undefined)
  @IsIn(MESSAGE_ROLES)
  role?: MessageRole;

  @ApiPropertyOptional({ example: 'Teddy, why is the sky blue?', maxLength: MAX_TEXT, description: 'Single form' })
  @ValidateIf((o: AppendMessagesDto) => o.messages === undefined || o.text !== undefined)
  @IsString()
  @MinLength(1, { message: 'text must not be empty' })
  @NoNul()
  @MaxLength(MAX_TEXT)
  text?: string;

  @ApiPropertyOptional({ example: '2026-11-28T09:30:05Z', description: 'Single form' })
  @IsOptional()
  @IsTimestamp()
  createdAt?: string;

  @ApiPropertyOptional({
    type: [MessageInputDto],
    maxItems: MAX_BATCH,
    example: [
      { role: 'child', text: 'Good night Teddy', createdAt: '2026-11-01T19:00:00Z' },
      { role: 'teddy', text: 'Good night! Sweet dreams.', createdAt: '2026-11-01T19:00:02Z' },
    ],
    description: `Batch form: 1..${MAX_BATCH} messages, written in one transaction (all or none)`,
  })
  // null is not "absent": it must fail as "messages must be an array" rather than reach the service.
  @ValidateIf((o: AppendMessagesDto) => o.messages !== undefined)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH)
  @ValidateNested({ each: true })
  @Type(() => MessageInputDto)
  messages?: MessageInputDto[];
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsTimestamp } from '../../common/validation';
import { ClientId } from '../client-id';

export class CreateConversationDto {
  @ClientId('conversation')
  id?: string;

  @ApiPropertyOptional({
    example: '2026-11-28T09:30:00Z',
    description: 'When the conversation began; defaults to now. May be in the past (imports), never in the future.',
  })
  @IsOptional()
  @IsTimestamp()
  startedAt?: string;
}

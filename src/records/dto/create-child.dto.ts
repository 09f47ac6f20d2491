import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, MinLength } from 'class-validator';
import { MaxChars, NoNul } from '../../common/validation';
import { ClientId } from '../client-id';

export class CreateChildDto {
  @ClientId('child')
  id?: string;

  @ApiProperty({ example: 'Omar', maxLength: 100 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MinLength(1, { message: 'displayName must not be empty' })
  @NoNul()
  @MaxChars(100)
  displayName: string;
}

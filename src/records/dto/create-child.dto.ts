import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { NoNul } from './no-nul';

export class CreateChildDto {
  @ApiProperty({ example: 'Omar', maxLength: 100 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MinLength(1, { message: 'displayName must not be empty' })
  @NoNul()
  @MaxLength(100)
  displayName: string;
}

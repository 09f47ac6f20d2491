import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, MinLength } from 'class-validator';
import { MaxChars, NoNul } from '../../common/validation';

export class CreateChildDto {
  @ApiProperty({ example: 'Omar', maxLength: 100 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MinLength(1, { message: 'displayName must not be empty' })
  @NoNul()
  @MaxChars(100)
  displayName: string;
}

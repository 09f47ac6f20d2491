import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, MaxLength, Min, MinLength } from 'class-validator';
import { IsOmittable, MaxChars, NoNul } from '../../common/validation';
import { ClientId } from '../client-id';
import { Locale, LOCALES } from '../guardian.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateGuardianDto {
  @ClientId('guardian')
  id?: string;

  @ApiProperty({ example: 'layla.hassan@example.com', maxLength: 320 })
  @Transform(trim)
  @IsEmail({}, { message: 'email must be an e-mail address' })
  @MaxLength(320)
  email: string;

  @ApiProperty({ example: 'Layla', maxLength: 100 })
  @Transform(trim)
  @IsString()
  @MinLength(1, { message: 'displayName must not be empty' })
  @NoNul()
  @MaxChars(100)
  displayName: string;

  @ApiPropertyOptional({ enum: LOCALES, default: 'en', description: 'Language of the deletion notices' })
  @IsOmittable()
  @IsIn(LOCALES)
  locale?: Locale;

  @ApiPropertyOptional({
    example: 14,
    minimum: 1,
    description: 'A shorter retention for this family, in days: 1..RETENTION_DAYS. Omit (or null) for the service default.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  retentionDays?: number;

  @ApiPropertyOptional({ default: true, example: true, description: 'Whether this guardian receives deletion notices' })
  @IsOmittable()
  @IsBoolean()
  notificationsEnabled?: boolean;
}

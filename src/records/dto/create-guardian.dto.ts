import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEmail, IsIn, IsInt, IsOptional, IsString, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { IsOmittable, IsTimeZone, MaxChars, NoNul } from '../../common/validation';
import { ClientId } from '../client-id';
import { Locale, LOCALES, NOTICE_FREQUENCIES, NoticeFrequency } from '../guardian.entity';

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

  @ApiPropertyOptional({
    example: 'Asia/Riyadh',
    nullable: true,
    type: String,
    description:
      "IANA time zone the dates in this guardian's notices are written in. Omit (or null) for the service's (SCHEDULER_TIMEZONE, UTC when unset).",
  })
  @ValidateIf((_o: object, value: unknown) => value !== undefined && value !== null)
  @IsTimeZone()
  timezone?: string | null;

  @ApiPropertyOptional({ default: true, example: true, description: 'Whether this guardian receives deletion notices' })
  @IsOmittable()
  @IsBoolean()
  notificationsEnabled?: boolean;

  @ApiPropertyOptional({
    enum: NOTICE_FREQUENCIES,
    default: 'digest',
    description:
      "How often this guardian is told: 'digest' (at most one notice per NOTICE_DIGEST_DAYS, covering every deletion until the next one can go out) " +
      "or 'each_run' (a notice at each notice run that precedes a deletion). A change applies from the next notice run.",
  })
  @IsOmittable()
  @IsIn(NOTICE_FREQUENCIES)
  noticeFrequency?: NoticeFrequency;
}

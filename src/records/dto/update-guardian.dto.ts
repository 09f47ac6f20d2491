import { ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { IsInt, Min, ValidateIf } from 'class-validator';
import { CreateGuardianDto } from './create-guardian.dto';

export const GUARDIAN_SETTINGS = ['displayName', 'locale', 'retentionDays', 'notificationsEnabled', 'noticeFrequency', 'timezone'] as const;

/**
 * The settings a guardian may change; each may be left out. Only retentionDays and timezone may be
 * null (back to the service's): skipNullProperties: false makes a null anywhere else a 400, not a 500.
 */
export class UpdateGuardianDto extends PartialType(
  PickType(CreateGuardianDto, ['displayName', 'locale', 'notificationsEnabled', 'noticeFrequency', 'timezone'] as const),
  {
    skipNullProperties: false,
  },
) {
  @ApiPropertyOptional({
    example: 14,
    minimum: 1,
    nullable: true,
    type: Number,
    description:
      'A shorter retention for this family, in days: 1..RETENTION_DAYS; null for the service default. Applies from the next cleanup.',
  })
  @ValidateIf((_o: object, value: unknown) => value !== undefined && value !== null)
  @IsInt()
  @Min(1)
  retentionDays?: number | null;
}

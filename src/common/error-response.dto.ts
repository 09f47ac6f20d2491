import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The one error shape every route answers with. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiProperty({ example: 'email must be an email' })
  message: string;

  @ApiPropertyOptional({
    description: 'Every validation problem, one per line, each naming its field',
    example: ['email must be an email', 'locale must be one of the following values: en, ar'],
    type: [String],
  })
  details?: string[];

  @ApiPropertyOptional({ example: 'b3a1f0d2-3c1e-4f5a-9d7e-2a1b0c9d8e7f', description: 'Matches the X-Request-Id header and the logs' })
  requestId?: string;
}

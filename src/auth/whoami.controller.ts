import { Controller, Get, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from './api-key.guard';
import { Role, Roles } from './roles.decorator';

class WhoAmIDto {
  @ApiProperty({ enum: ['viewer', 'operator', 'ingest'], example: 'operator' })
  role: Role;
}

@ApiTags('admin')
@Roles('viewer', 'ingest')
@Controller('admin/auth')
export class WhoAmIController {
  @Get('whoami')
  @ApiOperation({ summary: 'Which role the presented key has; a safe way to check a key' })
  @ApiOkResponse({ type: WhoAmIDto })
  whoami(@Req() req: AuthedRequest): WhoAmIDto {
    return { role: req.principal!.role };
  }
}

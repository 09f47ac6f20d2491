import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/error-response.dto';

/**
 * viewer: reads the admin API. operator: everything a viewer can, plus steering (ADMIN_API_KEY).
 * ingest: the Teddy app writing and reading children's data; no admin access, and admins none of its.
 */
export type Role = 'viewer' | 'operator' | 'ingest';

export const ROLES_KEY = 'teddy:roles';
export const PUBLIC_KEY = 'teddy:public';

/** Who may call a controller or handler; applied once, at class level where it can be. */
export const Roles = (...roles: Role[]) =>
  applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    ApiSecurity('api-key'),
    ApiBearerAuth('bearer'),
    ApiUnauthorizedResponse({ description: 'No API key, or an unknown one', type: ErrorResponseDto }),
    ApiForbiddenResponse({ description: `The key's role may not call this route (needs: ${roles.join(' or ')})`, type: ErrorResponseDto }),
    ApiTooManyRequestsResponse({ description: 'Too many failed authentications from this client', type: ErrorResponseDto }),
  );

/** Open to anyone: health probes and, unless METRICS_TOKEN is set, metrics. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** A role satisfies a requirement if it is the role, or an operator where a viewer is asked for. */
export function roleSatisfies(role: Role, required: readonly Role[]): boolean {
  return required.includes(role) || (role === 'operator' && required.includes('viewer'));
}

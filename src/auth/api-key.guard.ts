import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { KeyRing } from './key-ring';
import { PUBLIC_KEY, Role, roleSatisfies, ROLES_KEY } from './roles.decorator';

export interface Principal {
  role: Role;
}

export type AuthedRequest = Request & { principal?: Principal };

export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1].trim();
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  return undefined;
}

/**
 * Applied to every route. A route without @Roles or @Public is operator-only, so a new route is
 * never open by accident.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeyRing,
    private readonly limiter: AuthFailureLimiter,
  ) {}

  /** Each handler's @Public / @Roles, read once: decorators do not change once the app is built. */
  private readonly access = new WeakMap<object, { isPublic: boolean; required: Role[] }>();

  private accessOf(context: ExecutionContext): { isPublic: boolean; required: Role[] } {
    const handler = context.getHandler();
    let access = this.access.get(handler);
    if (!access) {
      const targets = [handler, context.getClass()];
      access = {
        isPublic: !!this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets),
        required: this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets) ?? ['operator'],
      };
      this.access.set(handler, access);
    }
    return access;
  }

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, required } = this.accessOf(context);
    if (isPublic) return true;

    const http = context.switchToHttp();
    const req = http.getRequest<AuthedRequest>();
    // req.ip goes through Express's trust-proxy logic: only asked for when a client has failed lately.
    const client = () => req.ip ?? 'unknown';

    // Checked before the key, so a blocked client learns nothing from further guesses.
    const retryAfter = this.limiter.tracking ? this.limiter.retryAfterSeconds(client()) : 0;
    if (retryAfter > 0) {
      http.getResponse<Response>().setHeader('Retry-After', String(retryAfter));
      throw new HttpException(
        { statusCode: 429, error: 'Too Many Requests', message: `too many failed authentications; retry in ${retryAfter} s` },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }

    const key = presentedKey(req);
    if (!key) throw new UnauthorizedException('an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)');
    const role = this.keys.roleOf(key);
    if (!role) {
      this.limiter.recordFailure(client());
      throw new UnauthorizedException('the API key is not valid');
    }
    if (!roleSatisfies(role, required)) {
      throw new ForbiddenException(`the ${role} key may not call this route (needs: ${required.join(' or ')})`);
    }
    req.principal = { role };
    return true;
  }
}

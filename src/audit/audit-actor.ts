import type { AuthedRequest } from '../auth/api-key.guard';
import { AuditActor } from './audit.service';

/** Who did it, for the audit log: the API key's role and the request id. */
export function auditActor(req: AuthedRequest): AuditActor {
  return { role: req.principal!.role, requestId: typeof req.id === 'string' ? req.id : undefined };
}

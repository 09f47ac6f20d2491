import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Env } from '../config/env.validation';
import { Role } from './roles.decorator';

interface KeyEntry {
  role: Role;
  digest: Buffer;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The configured API keys, held as SHA-256 digests. A presented key is compared against every
 * configured digest with timingSafeEqual and no early exit, so the time taken tells nothing about
 * which key, or how much of one, matched.
 */
export class KeyRing {
  private readonly entries: KeyEntry[];
  /** Set only when the operator key was generated at start; printed once, then dropped by the caller. */
  readonly generatedAdminKey?: string;
  /** Likewise for the viewer and ingest keys, generated only when the caller asks (the HTTP service does). */
  readonly generatedViewerKey?: string;
  readonly generatedIngestKey?: string;

  constructor(
    env: Pick<Env, 'ADMIN_API_KEY' | 'VIEWER_API_KEY' | 'INGEST_API_KEY' | 'NODE_ENV'>,
    options: { generateDevelopmentKeys?: boolean } = {},
  ) {
    let admin = env.ADMIN_API_KEY;
    if (!admin) {
      if (env.NODE_ENV === 'production') throw new Error('ADMIN_API_KEY: is required when NODE_ENV=production');
      admin = randomBytes(24).toString('base64url');
      this.generatedAdminKey = admin;
    }
    // Never in production: there a missing viewer or ingest key means that role is not in use.
    const generate = options.generateDevelopmentKeys && env.NODE_ENV !== 'production';
    const viewer = env.VIEWER_API_KEY || (generate ? (this.generatedViewerKey = randomBytes(24).toString('base64url')) : undefined);
    const ingest = env.INGEST_API_KEY || (generate ? (this.generatedIngestKey = randomBytes(24).toString('base64url')) : undefined);
    const configured: Array<[Role, string | undefined]> = [
      ['operator', admin],
      ['viewer', viewer],
      ['ingest', ingest],
    ];
    this.entries = configured.filter((e): e is [Role, string] => !!e[1]).map(([role, key]) => ({ role, digest: digest(key) }));
  }

  roleOf(presented: string): Role | undefined {
    const presentedDigest = digest(presented);
    let found: Role | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presentedDigest) && !found) found = entry.role;
    }
    return found;
  }

  has(role: Role): boolean {
    return this.entries.some((e) => e.role === role);
  }
}

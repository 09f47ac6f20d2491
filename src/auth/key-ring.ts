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
  /** Likewise for the viewer key, generated only when the caller asks (the HTTP service does). */
  readonly generatedViewerKey?: string;

  constructor(
    env: Pick<Env, 'ADMIN_API_KEY' | 'VIEWER_API_KEY' | 'INGEST_API_KEY' | 'NODE_ENV'>,
    options: { generateViewerKey?: boolean } = {},
  ) {
    let admin = env.ADMIN_API_KEY;
    if (!admin) {
      if (env.NODE_ENV === 'production') throw new Error('ADMIN_API_KEY: is required when NODE_ENV=production');
      admin = randomBytes(24).toString('base64url');
      this.generatedAdminKey = admin;
    }
    let viewer = env.VIEWER_API_KEY;
    if (!viewer && options.generateViewerKey && env.NODE_ENV !== 'production') {
      viewer = randomBytes(24).toString('base64url');
      this.generatedViewerKey = viewer;
    }
    const configured: Array<[Role, string | undefined]> = [
      ['operator', admin],
      ['viewer', viewer],
      ['ingest', env.INGEST_API_KEY],
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

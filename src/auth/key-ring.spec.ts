import { KeyRing } from './key-ring';

describe('KeyRing', () => {
  const env = {
    NODE_ENV: 'test' as const,
    ADMIN_API_KEY: 'operator-key-0123456789',
    VIEWER_API_KEY: 'viewer-key-0123456789',
    INGEST_API_KEY: 'ingest-key-0123456789',
  };

  it('maps each configured key to its role and nothing else', () => {
    const ring = new KeyRing(env);
    expect(ring.roleOf('operator-key-0123456789')).toBe('operator');
    expect(ring.roleOf('viewer-key-0123456789')).toBe('viewer');
    expect(ring.roleOf('ingest-key-0123456789')).toBe('ingest');
    expect(ring.roleOf('operator-key-012345678')).toBeUndefined();
    expect(ring.roleOf('')).toBeUndefined();
    expect(ring.generatedAdminKey).toBeUndefined();
  });

  it('generates an operator key outside production when none is set', () => {
    const ring = new KeyRing({ NODE_ENV: 'development' });
    expect(ring.generatedAdminKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(ring.roleOf(ring.generatedAdminKey!)).toBe('operator');
    expect(ring.has('viewer')).toBe(false);
    expect(new KeyRing({ NODE_ENV: 'development' }).generatedAdminKey).not.toBe(ring.generatedAdminKey);
  });

  it('generates a viewer and an ingest key too when asked, outside production, unless they are set', () => {
    const ring = new KeyRing({ NODE_ENV: 'development' }, { generateDevelopmentKeys: true });
    expect(ring.generatedViewerKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(ring.generatedIngestKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new Set([ring.generatedAdminKey, ring.generatedViewerKey, ring.generatedIngestKey]).size).toBe(3);
    expect(ring.roleOf(ring.generatedViewerKey!)).toBe('viewer');
    expect(ring.roleOf(ring.generatedIngestKey!)).toBe('ingest');
    const configured = new KeyRing(env, { generateDevelopmentKeys: true });
    expect([configured.generatedViewerKey, configured.generatedIngestKey]).toEqual([undefined, undefined]);
    const production = new KeyRing({ NODE_ENV: 'production', ADMIN_API_KEY: env.ADMIN_API_KEY }, { generateDevelopmentKeys: true });
    expect([production.generatedViewerKey, production.has('viewer'), production.generatedIngestKey, production.has('ingest')]).toEqual([
      undefined,
      false,
      undefined,
      false,
    ]);
  });

  it('refuses to run in production without ADMIN_API_KEY', () => {
    expect(() => new KeyRing({ NODE_ENV: 'production' })).toThrow(/ADMIN_API_KEY/);
  });
});

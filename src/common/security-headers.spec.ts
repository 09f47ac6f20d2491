import express from 'express';
import helmet from 'helmet';
import request from 'supertest';
import { applySecurityHeaders, HELMET_OPTIONS, securityHeaders } from './security-headers';

/** The headers of GET `path` on an app whose first middleware is `first`, minus those that vary by response. */
async function headersOf(first: express.RequestHandler, path: string): Promise<Record<string, string>> {
  const app = express();
  app.use(first);
  app.get('/ok', (_req, res) => {
    res.json({ ok: true });
  });
  const res = await request(app).get(path);
  const headers = { ...res.headers } as Record<string, string>;
  for (const varying of ['date', 'etag', 'content-length', 'connection', 'keep-alive', 'content-type']) delete headers[varying];
  return headers;
}

describe('securityHeaders', () => {
  const set = applySecurityHeaders(securityHeaders(HELMET_OPTIONS));
  const precomputed: express.RequestHandler = (_req, res, next) => {
    set(res);
    next();
  };

  it.each(['/ok', '/missing'])('sets exactly what helmet sets with the same options (%s)', async (path) => {
    const fromHelmet = await headersOf(helmet(HELMET_OPTIONS), path);
    expect(await headersOf(precomputed, path)).toEqual(fromHelmet);
  });

  it('keeps the headers the service promises', async () => {
    const fromHelmet = await headersOf(helmet(HELMET_OPTIONS), '/ok');
    // What the service promises: the usual headers, and the CSP without upgrade-insecure-requests.
    expect(fromHelmet).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': expect.stringContaining('max-age='),
      'content-security-policy': expect.stringContaining("default-src 'self'"),
      'cross-origin-opener-policy': 'same-origin',
      'referrer-policy': 'no-referrer',
    });
    expect(fromHelmet['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(fromHelmet['x-powered-by']).toBeUndefined();
    expect(Object.keys(fromHelmet).length).toBeGreaterThanOrEqual(12);
  });

  it('records every header helmet sets, and its removal of X-Powered-By', () => {
    const { headers, removed } = securityHeaders(HELMET_OPTIONS);
    expect(headers.map(([name]) => name.toLowerCase())).toEqual(
      expect.arrayContaining(['content-security-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options']),
    );
    expect(removed.map((n) => n.toLowerCase())).toEqual(['x-powered-by']);
  });
});

import { ArgumentsHost } from '@nestjs/common';
import { DatabaseBusy } from '../database/errors';
import { HttpExceptionFilter } from './http-exception.filter';

/** What the filter answers for an error: status, headers and body, through a fake Express response. */
function answer(error: unknown): { status?: number; headers: Record<string, string>; body?: { statusCode: number; message: string } } {
  const out: ReturnType<typeof answer> = { headers: {} };
  const res = {
    headersSent: false,
    setHeader: (name: string, value: string) => (out.headers[name] = value),
    status: (code: number) => ((out.status = code), res),
    json: (body: { statusCode: number; message: string }) => (out.body = body),
  };
  const host = { switchToHttp: () => ({ getResponse: () => res, getRequest: () => ({ method: 'POST', originalUrl: '/v1/x' }) }) };
  new HttpExceptionFilter().catch(error, host as unknown as ArgumentsHost);
  return out;
}

describe('HttpExceptionFilter and a busy SQLite file', () => {
  it('answers DatabaseBusy with 503, Retry-After and its message', () => {
    const res = answer(new DatabaseBusy(5001));
    expect(res.status).toBe(503);
    expect(res.headers['Retry-After']).toBe('1');
    expect(res.body?.message).toMatch(/held its write lock for 5001 ms; nothing was written/);
  });

  it('answers a raw SQLITE_BUSY from the driver with 503 too, never 500', () => {
    const driverError = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    for (const error of [driverError, { driverError, message: 'QueryFailedError' }]) {
      const res = answer(error);
      expect(res.status).toBe(503);
      expect(res.headers['Retry-After']).toBe('1');
      expect(res.body?.message).not.toContain('database is locked');
    }
  });

  it('still answers an unexpected error with a bare 500 and no Retry-After', () => {
    const res = answer(new Error('boom'));
    expect(res.status).toBe(500);
    expect(res.headers['Retry-After']).toBeUndefined();
  });
});

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Request, Response } from 'express';
import { DatabaseBusy, isBusy } from '../database/errors';
import { AppErrors } from '../metrics/app-errors.service';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: string[];
  /** For a failed readiness probe: each check and its state. */
  checks?: Record<string, unknown>;
  requestId?: string;
}

/** Terminus answers a failed health check with { status: 'error', details: { <check>: { status } } }. */
function healthChecks(response: unknown): Record<string, unknown> | undefined {
  const r = response as { status?: unknown; details?: unknown };
  return r && typeof r === 'object' && r.status === 'error' && r.details && typeof r.details === 'object'
    ? (r.details as Record<string, unknown>)
    : undefined;
}

/** Errors raised by Express's body parser before any route runs. */
interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  expose?: boolean;
  message?: string;
  code?: string;
}

function fromBodyParser(err: BodyParserError): { status: number; message: string } | undefined {
  switch (err?.type) {
    case 'entity.parse.failed':
      return { status: 400, message: 'the request body is not valid JSON' };
    case 'entity.too.large':
      return { status: 413, message: `the request body is larger than the ${err.limit ?? ''} byte limit`.replace('  ', ' ') };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, message: 'the request body encoding or charset is not supported' };
    case 'request.aborted':
      return { status: 400, message: 'the request was aborted' };
    default:
      // Other client errors raised while reading the body, e.g. a Content-Encoding the body does not
      // match (zlib: "incorrect header check"); http-errors marks them expose.
      if (err?.expose && typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
        const zlib = typeof err.code === 'string' && err.code.startsWith('Z_');
        const why = zlib ? `${err.message} (does the Content-Encoding header match the body?)` : (err.message ?? 'invalid');
        return { status: err.status, message: `the request body could not be read: ${why}` };
      }
      return undefined;
  }
}

const BUSY_RETRY_AFTER_S = 1;

/** SQLite's write lock was held by another process for longer than DB_BUSY_TIMEOUT_MS: a 503 to retry, not a 500. */
function busy(exception: unknown): boolean {
  return exception instanceof DatabaseBusy || isBusy(exception);
}

/**
 * Every error leaves as { statusCode, error, message } (+ details for validation, + requestId).
 * Unexpected errors are logged with their stack here and answered with a bare 500: no stack trace
 * or driver message ever reaches a client.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly appErrors?: AppErrors) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request & { id?: string }>();
    const body = this.toBody(exception, req);
    if (req?.id) body.requestId = String(req.id);
    if (res.headersSent) return;
    if (busy(exception)) res.setHeader('Retry-After', String(BUSY_RETRY_AFTER_S));
    res.status(body.statusCode).json(body);
  }

  toBody(exception: unknown, req?: Request): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const details = Array.isArray(raw) ? raw.map(String) : undefined;
      const checks = healthChecks(response);
      if (checks) {
        const down = Object.entries(checks)
          .filter(([, c]) => (c as { status?: string }).status !== 'up')
          .map(([name]) => name);
        return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message: `not ready: ${down.join(', ')} down`, checks };
      }
      const message = details ? details.join('; ') : String(raw ?? exception.message);
      return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...(details ? { details } : {}) };
    }
    if (busy(exception)) {
      const message =
        exception instanceof DatabaseBusy
          ? exception.message
          : 'the database is busy: another process holds its lock; nothing was written, try again';
      return { statusCode: HttpStatus.SERVICE_UNAVAILABLE, error: 'Service Unavailable', message };
    }
    const parsed = fromBodyParser(exception as BodyParserError);
    if (parsed) return { statusCode: parsed.status, error: STATUS_CODES[parsed.status] ?? 'Error', message: parsed.message };

    this.appErrors?.count('http');
    this.logger.error(
      { err: exception, method: req?.method, url: req?.originalUrl },
      `unhandled error on ${req?.method} ${req?.originalUrl}`,
    );
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, error: 'Internal Server Error', message: 'internal server error' };
  }
}

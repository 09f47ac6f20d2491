import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import type { Params } from 'nestjs-pino';
import { Env } from '../config/env.validation';
import { maskDeep, maskEmails } from './mask';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Paths polled by probes and scrapers: not worth a log line each. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * The request's id: a well-formed incoming X-Request-Id, or a new UUID. Set on the response header and
 * kept on req.id, so every later caller (pino-http, the error filter, the body-parser error handler) sees the same one.
 */
export function assignRequestId(req: IncomingMessage & { id?: unknown }, res: ServerResponse): string {
  if (typeof req.id === 'string') return req.id;
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  req.id = id;
  return id;
}

/**
 * pino JSON to stdout (stderr for the command line, whose stdout is its answer) and to LOG_FILE. Keys never reach a log: request headers are not serialized at
 * all, and any field that looks like a credential is redacted. E-mail addresses are masked everywhere.
 */
export function loggerParams(env: Env, console: NodeJS.WritableStream = process.stdout): Params {
  const streams: pino.StreamEntry[] = [{ stream: console }];
  if (env.LOG_FILE) streams.push({ stream: pino.destination({ dest: env.LOG_FILE, mkdir: true, sync: false }) });
  return {
    pinoHttp: {
      level: env.LOG_LEVEL,
      stream: pino.multistream(streams, { dedupe: false }),
      base: { service: 'teddy-scheduler' },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      redact: {
        paths: ['*.authorization', '*["x-api-key"]', '*.apiKey', '*.password', '*.secret', '*.token', 'req.headers'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => maskDeep(a)) as Parameters<typeof method>);
        },
      },
      genReqId: assignRequestId,
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: maskEmails(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        // Driver and SMTP errors can quote an address in their text.
        err: (err: Error) => maskDeep(pino.stdSerializers.err(err)),
      },
      autoLogging: env.LOG_HTTP_REQUESTS ? { ignore: (req) => QUIET_PATHS.test(req.url ?? '') } : false,
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    },
  };
}

import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import pino from 'pino';
import type { Params } from 'nestjs-pino';
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

/** Where log lines go besides LOG_FILE, and from which level (LOG_LEVEL when unset). */
export interface ConsoleLog {
  stream: NodeJS.WritableStream;
  level?: pino.Level;
}

/**
 * LOG_FILE, opened here and synchronously; the writes stay asynchronous. Left to sonic-boom, the open happens in the
 * background, and a process.exit before it completes (a boot error, or the job command, whose start can run without a
 * single turn of the event loop) makes pino's exit flush throw "sonic boom is not ready yet": the exit code becomes 1
 * and the lines buffered so far are lost. A file that cannot be opened now stops the start with its error.
 */
function logFile(path: string): pino.DestinationStream {
  mkdirSync(dirname(path), { recursive: true });
  return pino.destination({ fd: openSync(path, 'a'), sync: false });
}

/** The variables logging reads (the Env class has them; a structural type, so common/ needs no import of config/). */
export interface LogSettings {
  LOG_LEVEL: pino.LevelWithSilent;
  /** Empty: stdout only. */
  LOG_FILE?: string;
  LOG_HTTP_REQUESTS: boolean;
}

/**
 * pino JSON to stdout (the job command sends warnings and errors to stderr instead, as its stdout is its answer) and to
 * LOG_FILE. Keys never reach a log: request headers are not serialized at all, and any field that looks like a
 * credential is redacted. E-mail addresses are masked everywhere.
 */
export function loggerParams(env: LogSettings, console: ConsoleLog = { stream: process.stdout }): Params {
  // Each stream states its level: multistream's default (info) would drop debug and trace even at LOG_LEVEL=debug.
  const level: pino.Level = env.LOG_LEVEL === 'silent' ? 'fatal' : env.LOG_LEVEL;
  const streams: pino.StreamEntry[] = [{ stream: console.stream, level: console.level ?? level }];
  if (env.LOG_FILE) streams.push({ stream: logFile(env.LOG_FILE), level });
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

import { randomUUID } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import pino from 'pino';
import type { Params } from 'nestjs-pino';
import { storage, type Store } from 'nestjs-pino/storage';
import { maskDeep, maskEmails } from './mask';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Paths polled by probes and scrapers: not worth a log line each. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * The request's id: a well-formed incoming X-Request-Id, or a new UUID. Set on the response header and
 * kept on req.id, so every later caller (the request log, the error filter, the body-parser error handler) sees the same one.
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

/** What a request line says about the request: never its headers or body. */
interface RequestFields {
  id: string;
  method: string;
  url: string;
}

/** What requestLogging needs besides the root logger: kept here, keyed by the root logger loggerParams made. */
interface RequestLog {
  /** Writes the request lines: the same stream, level and format as `root`, without its hook and redaction. */
  lines: pino.Logger;
  enabled: boolean;
}
const requestLogs = new WeakMap<pino.Logger, RequestLog>();

/**
 * pino JSON to stdout (the job command sends warnings and errors to stderr instead, as its stdout is its answer) and to
 * LOG_FILE. Keys never reach a log: request headers are not serialized at all, and any field that looks like a
 * credential is redacted. E-mail addresses are masked everywhere.
 *
 * nestjs-pino gets the root logger and adds no middleware of its own (its pino-http made a child logger for every
 * request and serialized the request into it up front): createApp installs requestLogging, which gives each request
 * its context for nestjs-pino's PinoLogger and writes the request line.
 */
export function loggerParams(env: LogSettings, console: ConsoleLog = { stream: process.stdout }): Params {
  // Each stream states its level: multistream's default (info) would drop debug and trace even at LOG_LEVEL=debug.
  const level: pino.Level = env.LOG_LEVEL === 'silent' ? 'fatal' : env.LOG_LEVEL;
  const streams: pino.StreamEntry[] = [{ stream: console.stream, level: console.level ?? level }];
  if (env.LOG_FILE) streams.push({ stream: logFile(env.LOG_FILE), level });
  const stream = pino.multistream(streams, { dedupe: false });
  const format = {
    level: env.LOG_LEVEL,
    base: { service: 'teddy-scheduler' },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
  } satisfies pino.LoggerOptions;
  const root = pino(
    {
      ...format,
      redact: {
        paths: ['*.authorization', '*["x-api-key"]', '*.apiKey', '*.password', '*.secret', '*.token', 'req.headers'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => maskDeep(a)) as Parameters<typeof method>);
        },
      },
      serializers: {
        req: (req: RequestFields) => ({ id: req.id, method: req.method, url: maskEmails(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        // Driver and SMTP errors can quote an address in their text.
        err: (err: Error) => maskDeep(pino.stdSerializers.err(err)),
      },
    },
    stream,
  );
  // A request line holds only what requestLogging puts in it (a checked id, the method, the URL already masked, the
  // status), so it skips the hook and the redaction, which would walk and copy each line for nothing.
  requestLogs.set(root, { lines: pino({ ...format, serializers: {} }, stream), enabled: env.LOG_HTTP_REQUESTS });
  return { pinoHttp: { logger: root }, useExisting: true, forRoutes: [] };
}

/**
 * The request's context for nestjs-pino: a line logged while serving it (through Nest's Logger or PinoLogger) goes
 * through a child logger bound to { req: { id, method, url } }, made on the first such line, not for every request.
 */
class RequestContext {
  readonly responseLogger = undefined;
  private child?: pino.Logger;

  constructor(
    private readonly root: pino.Logger,
    private readonly req: RequestFields,
  ) {}

  get logger(): pino.Logger {
    return (this.child ??= this.root.child({ req: this.req }));
  }

  /** PinoLogger.assign() replaces it with a child carrying more fields. */
  set logger(logger: pino.Logger) {
    this.child = logger;
  }
}

/**
 * The last middleware before Nest's routes (after the body parser, whose stream callbacks would not carry the
 * context): gives the request its id (X-Request-Id, req.id) and its logging context, and, with LOG_HTTP_REQUESTS, logs
 * one line when the response is done (info; warn for a 4xx; error for a 5xx), except for the probe and scrape paths.
 * `params` is what loggerParams returned.
 */
export function requestLogging(params: Params) {
  const root = (params.pinoHttp as { logger: pino.Logger }).logger;
  const log = requestLogs.get(root);
  if (!log) throw new Error('requestLogging: params must come from loggerParams');
  const { lines, enabled } = log;
  return (req: IncomingMessage & { id?: unknown }, res: ServerResponse, next: () => void) => {
    const fields: RequestFields = { id: assignRequestId(req, res), method: req.method ?? '', url: req.url ?? '' };
    if (enabled && !QUIET_PATHS.test(fields.url)) {
      const started = Date.now();
      // 'close' comes once the response is sent, or when the client went away before.
      res.once('close', () => {
        const statusCode = res.statusCode;
        const level = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
        if (!lines.isLevelEnabled(level)) return;
        // The keys in pino-http's order.
        const req = { id: fields.id, method: fields.method, url: maskEmails(fields.url) };
        const responseTime = Date.now() - started;
        if (statusCode < 500) lines[level]({ req, res: { statusCode }, responseTime }, 'request completed');
        else {
          const err = pino.stdSerializers.err(new Error(`failed with status code ${statusCode}`));
          lines[level]({ req, res: { statusCode }, err, responseTime }, 'request errored');
        }
      });
    }
    storage.run(new RequestContext(root, fields) as unknown as Store, next);
  };
}

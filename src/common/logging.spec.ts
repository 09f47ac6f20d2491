import express from 'express';
import { PinoLogger } from 'nestjs-pino';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import type { Logger } from 'pino';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { validateEnv } from '../config/env.validation';
import { loggerParams, requestLogging } from './logging';

function logged(logLevel: string, log: (logger: Logger) => void, consoleLevel?: 'warn'): string[] {
  const env = validateEnv({ NODE_ENV: 'test', ADMIN_API_KEY: 'test-operator-key-000000000001', LOG_LEVEL: logLevel, LOG_FILE: '' });
  const sink = new PassThrough();
  const lines: string[] = [];
  sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  const params = loggerParams(env, { stream: sink, level: consoleLevel });
  log((params.pinoHttp as { logger: Logger }).logger);
  return lines.map((l) => JSON.parse(l).msg as string);
}

describe('loggerParams', () => {
  it('lets LOG_LEVEL=debug and trace through to the stream', () => {
    expect(logged('trace', (l) => (l.trace('t'), l.debug('d'), l.info('i')))).toEqual(['t', 'd', 'i']);
    expect(logged('debug', (l) => (l.trace('t'), l.debug('d')))).toEqual(['d']);
  });

  it('keeps a stream at its own level when it has one (the job command sends only warnings to stderr)', () => {
    expect(logged('info', (l) => (l.info('i'), l.warn('w')), 'warn')).toEqual(['w']);
  });
});

describe('requestLogging', () => {
  /** An Express app with requestLogging over loggerParams, a route that logs through nestjs-pino's PinoLogger, and the lines written. */
  function app(env: Record<string, string> = {}) {
    const settings = validateEnv({ NODE_ENV: 'test', ADMIN_API_KEY: 'test-operator-key-000000000001', LOG_FILE: '', ...env });
    const sink = new PassThrough();
    const lines: Array<Record<string, any>> = [];
    sink.on('data', (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ),
    );
    const params = loggerParams(settings, { stream: sink });
    __resetOutOfContextForTests();
    const logger = new PinoLogger(params);
    logger.setContext('Spec');
    const server = express();
    server.use(requestLogging(params));
    server.get('/work', (_req, res) => {
      logger.info({ email: 'jane.doe@example.com' }, 'inside the request');
      res.json({ ok: true });
    });
    server.get('/quiet', (_req, res) => {
      res.json({ ok: true });
    });
    server.get('/fail', (_req, res) => {
      res.status(503).json({ ok: false });
    });
    server.get('/health/live', (_req, res) => {
      res.json({ status: 'ok' });
    });
    const settled = async () => {
      await new Promise((r) => setImmediate(r));
      return lines;
    };
    return { http: request(server), logger, settled };
  }

  it('carries the request id in the lines logged while serving a request and in the request line', async () => {
    const t = app();
    const res = await t.http.get('/work?to=jane.doe@example.com').set('X-Request-Id', 'spec-1').expect(200);
    expect(res.headers['x-request-id']).toBe('spec-1');
    const lines = await t.settled();
    const inside = lines.find((l) => l.msg === 'inside the request');
    expect(inside).toMatchObject({ req: { id: 'spec-1', method: 'GET' }, context: 'Spec', service: 'teddy-scheduler' });
    // Masked in the bindings and in the logged object alike.
    expect(inside?.req.url).toBe('/work?to=j***@example.com');
    expect(inside?.email).toBe('j***@example.com');
    const line = lines.filter((l) => l.msg === 'request completed');
    expect(line).toEqual([
      expect.objectContaining({
        level: 30,
        req: { id: 'spec-1', method: 'GET', url: '/work?to=j***@example.com' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
        service: 'teddy-scheduler',
        time: expect.any(String),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('jane.doe');
  });

  it('gives each request a new id when none valid is sent, and logs outside requests without one', async () => {
    const t = app();
    const a = await t.http.get('/quiet').expect(200);
    const b = await t.http.get('/quiet').set('X-Request-Id', 'not valid!').expect(200);
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    t.logger.info('outside');
    const lines = await t.settled();
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => l.req.id)).toEqual([
      a.headers['x-request-id'],
      b.headers['x-request-id'],
    ]);
    expect(lines.find((l) => l.msg === 'outside')?.req).toBeUndefined();
  });

  it('logs a 5xx as an error, leaves out probes, and writes no request lines when LOG_HTTP_REQUESTS=false', async () => {
    const t = app();
    await t.http.get('/fail').set('X-Request-Id', 'spec-503').expect(503);
    await t.http.get('/health/live').expect(200);
    const lines = await t.settled();
    expect(lines.map((l) => [l.msg, l.level, l.req?.id, l.res?.statusCode, l.err?.message])).toEqual([
      ['request errored', 50, 'spec-503', 503, 'failed with status code 503'],
    ]);

    const quiet = app({ LOG_HTTP_REQUESTS: 'false' });
    const res = await quiet.http.get('/work').expect(200);
    const quietLines = await quiet.settled();
    expect(quietLines.map((l) => l.msg)).toEqual(['inside the request']);
    expect(quietLines[0].req.id).toBe(res.headers['x-request-id']);
  });
});

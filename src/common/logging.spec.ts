import type { Logger } from 'pino';
import pinoHttp, { Options } from 'pino-http';
import { PassThrough } from 'node:stream';
import { validateEnv } from '../config/env.validation';
import { loggerParams } from './logging';

function logged(logLevel: string, log: (logger: Logger) => void, consoleLevel?: 'warn'): string[] {
  const env = validateEnv({ NODE_ENV: 'test', ADMIN_API_KEY: 'test-operator-key-000000000001', LOG_LEVEL: logLevel, LOG_FILE: '' });
  const sink = new PassThrough();
  const lines: string[] = [];
  sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  const params = loggerParams(env, { stream: sink, level: consoleLevel });
  log(pinoHttp(params.pinoHttp as Options).logger);
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

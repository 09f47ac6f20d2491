import { Provider } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { Clock } from '../../src/common/clock';
import { validateEnv } from '../../src/config/env.validation';
import { capturedLog } from './captured-log';
import { scratchDatabase, ScratchDatabase } from './databases';

export const KEYS = {
  operator: 'test-operator-key-000000000001',
  viewer: 'test-viewer-key-0000000000000002',
  ingest: 'test-ingest-key-0000000000000003',
} as const;

export interface TestApp {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  dataSource: DataSource;
  database: ScratchDatabase;
  /** Headers carrying a role's key. */
  as(role: keyof typeof KEYS): { 'X-API-Key': string };
  close(): Promise<void>;
}

/**
 * Starts the real application (same factory as main.ts) on a fresh, migrated database of the
 * suite's kind. `env` overrides individual variables; `providers` are added to the application (a
 * test's own @Cron-declared job).
 */
export async function startApp(
  options: { env?: Record<string, string>; clock?: Clock; database?: ScratchDatabase; timers?: boolean; providers?: Provider[] } = {},
): Promise<TestApp> {
  const database = options.database ?? (await scratchDatabase());
  const env = validateEnv({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    ADMIN_API_KEY: KEYS.operator,
    VIEWER_API_KEY: KEYS.viewer,
    INGEST_API_KEY: KEYS.ingest,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    LOG_FILE: '',
    LOG_HTTP_REQUESTS: 'false',
    ...options.env,
  });
  // Scheduler timers are off unless a test asks for them: tests drive the scheduler's tick() with a
  // fake clock, and a real timer firing a cleanup in the middle of another test's assertions would be noise.
  const app = await createApp({
    env,
    clock: options.clock,
    schedulerTimers: options.timers ?? false,
    providers: options.providers,
    // Out of the test output; shown with a failing test (see captured-log.ts).
    logStream: { stream: capturedLog().stream('app') },
  });
  try {
    await app.init();
  } catch (error) {
    // A start refused (a bad declaration, a schedule the catalogue refuses): nothing of it may linger.
    await app.close().catch(() => undefined);
    if (!options.database) await database.drop();
    throw error;
  }
  // Nest buffers its own log lines until listen(); tests never listen, so flush them here.
  app.flushLogs();
  return {
    app,
    http: request(app.getHttpServer()),
    dataSource: app.get(DataSource),
    database,
    as: (role) => ({ 'X-API-Key': KEYS[role] }),
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}

import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { loadEnvFile } from './config/env-file';
import { EnvValidationError, validateEnv } from './config/env.validation';

async function bootstrap(): Promise<void> {
  let env;
  try {
    loadEnvFile();
    env = validateEnv(process.env);
  } catch (error) {
    if (error instanceof EnvValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp({ env });
  await app.listen(env.PORT, env.HOST);
  new Logger('Bootstrap').log(
    `teddy-scheduler listening on ${env.HOST}:${env.PORT} (database: ${env.DATABASE_URL.startsWith('sqlite:') ? 'sqlite' : 'postgres'}); ` +
      'API docs at /docs, metrics at /metrics, probes at /health/live and /health/ready',
  );
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`teddy-scheduler failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

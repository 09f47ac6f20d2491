import { DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Env } from '../config/env.validation';
import { ApiKeyGuard } from './api-key.guard';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { KeyRing } from './key-ring';
import { WhoAmIController } from './whoami.controller';

/** "a", "a and b", "a, b and c". */
const list = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}` : items[0]);

/** The API keys, the guard that checks them, and who-am-I. `generateKeys`: the HTTP service outside production (see KeyRing). */
@Global()
@Module({})
export class AuthModule {
  static forRoot({ generateKeys }: { generateKeys: boolean }): DynamicModule {
    return {
      module: AuthModule,
      controllers: [WhoAmIController],
      providers: [
        { provide: KeyRing, inject: [Env], useFactory: (env: Env) => keyRing(env, generateKeys) },
        {
          provide: AuthFailureLimiter,
          inject: [Env],
          useFactory: (env: Env) => new AuthFailureLimiter(env.AUTH_FAILURE_LIMIT, env.AUTH_FAILURE_WINDOW_SECONDS * 1000),
        },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
      ],
      exports: [KeyRing],
    };
  }
}

function keyRing(env: Env, generateKeys: boolean): KeyRing {
  // A viewer and an ingest key too, so that every example of the README works after a bare development start.
  const ring = new KeyRing(env, { generateDevelopmentKeys: generateKeys });
  const generated = [
    { name: 'ADMIN_API_KEY', what: 'an operator key', key: ring.generatedAdminKey },
    { name: 'VIEWER_API_KEY', what: 'a viewer key', key: ring.generatedViewerKey },
    { name: 'INGEST_API_KEY', what: 'an ingest key', key: ring.generatedIngestKey },
  ].filter((g) => g.key);
  if (generateKeys && generated.length > 0) {
    // Printed once, straight to stderr rather than through the logger, so it never lands in LOG_FILE; as one
    // export line, to paste into the shell that calls the API.
    process.stderr.write(
      `\n${list(generated.map((g) => g.name))} ${generated.length > 1 ? 'were' : 'was'} not set; ` +
        `generated ${list(generated.map((g) => g.what))} for this process only. To use ${generated.length > 1 ? 'them' : 'it'} from a shell:\n\n` +
        `    export ${generated.map((g) => `${g.name}=${g.key}`).join(' ')}\n\n` +
        'Set them (e.g. in .env) to keep keys across restarts; ADMIN_API_KEY is required when NODE_ENV=production.\n\n',
    );
  }
  if (!ring.generatedAdminKey) new Logger('Auth').log('operator key loaded from ADMIN_API_KEY');
  return ring;
}

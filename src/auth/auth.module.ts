import { Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Env } from '../config/env.validation';
import { ApiKeyGuard } from './api-key.guard';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { KeyRing } from './key-ring';
import { WhoAmIController } from './whoami.controller';

@Global()
@Module({
  controllers: [WhoAmIController],
  providers: [
    {
      provide: KeyRing,
      inject: [Env],
      useFactory: (env: Env) => {
        const ring = new KeyRing(env);
        if (ring.generatedAdminKey) {
          // Printed once, straight to stderr rather than through the logger, so it never lands in LOG_FILE.
          process.stderr.write(
            `\nADMIN_API_KEY was not set; generated an operator key for this process only:\n\n    ${ring.generatedAdminKey}\n\n` +
              'Set ADMIN_API_KEY to keep a key across restarts (required when NODE_ENV=production).\n\n',
          );
        } else {
          new Logger('Auth').log('operator key loaded from ADMIN_API_KEY');
        }
        return ring;
      },
    },
    {
      provide: AuthFailureLimiter,
      inject: [Env],
      useFactory: (env: Env) => new AuthFailureLimiter(env.AUTH_FAILURE_LIMIT, env.AUTH_FAILURE_WINDOW_SECONDS * 1000),
    },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [KeyRing],
})
export class AuthModule {}

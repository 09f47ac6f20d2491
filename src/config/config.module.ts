import { DynamicModule, Global, Module } from '@nestjs/common';
import { Env, validateEnv } from './env.validation';

/**
 * Provides the validated Env to every module. The app is built from one Env, so tests can start
 * an app with their own variables without touching process.env.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: Env = validateEnv(process.env)): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: Env, useValue: env }], exports: [Env] };
  }
}

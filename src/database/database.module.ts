import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Env } from '../config/env.validation';
import { dataSourceOptions } from './data-source';
import { Database } from './database.service';
import { runMigrations } from './migrate';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [Env],
      useFactory: (env: Env) => dataSourceOptions(env.DATABASE_URL, env.DB_POOL_SIZE, env.DB_BUSY_TIMEOUT_MS),
      // Migrations run at start-up, before any module can query: the quick start needs no manual step.
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        await runMigrations(dataSource);
        return dataSource;
      },
    }),
  ],
  providers: [Database],
  exports: [Database],
})
export class DatabaseModule {}

import { DynamicModule, Module } from '@nestjs/common';
import { Env } from '../config/env.validation';
import { databaseKind } from '../database/data-source';
import { MessagePartitions } from './message-partitions';
import { PartitionJobs } from './partitions.jobs';

/**
 * The message table's daily partitions (PostgreSQL). On SQLite the module only provides the
 * catalogue, disabled, and declares no job: the scheduler lists no partition job there.
 */
@Module({})
export class PartitionsModule {
  static forRoot(env: Env): DynamicModule {
    const postgres = databaseKind(env.DATABASE_URL) === 'postgres';
    return {
      module: PartitionsModule,
      global: true,
      providers: [MessagePartitions, ...(postgres ? [PartitionJobs] : [])],
      exports: [MessagePartitions],
    };
  }
}

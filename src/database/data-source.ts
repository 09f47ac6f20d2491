import { mkdirSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { discoverMigrations } from './migration-discovery';

export type DatabaseKind = 'sqlite' | 'postgres';

/**
 * Every `<name>.entity` file of the modules (src/, or dist/src/ once compiled; the extension this
 * file was loaded with says which): each module owns its entities, and database/ names none of them.
 */
export const ENTITY_FILES = join(__dirname, '..', '**', `*.entity${extname(__filename)}`);
/** Every file in ./migrations named `<timestamp>-<name>`, oldest first (npm run migration:create writes one). */
export const MIGRATIONS_DIR = join(__dirname, 'migrations');
export const MIGRATIONS = discoverMigrations(MIGRATIONS_DIR);

export function databaseKind(url: string): DatabaseKind {
  return url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

/** The SQLite file of a sqlite: URL, or ':memory:'. */
export function sqlitePath(url: string): string {
  const path = url.slice('sqlite:'.length);
  return path === ':memory:' ? path : resolve(path);
}

/**
 * DataSource options for a DATABASE_URL. Never `synchronize`: the schema comes from the migrations
 * alone, on both databases, in tests too.
 */
export function dataSourceOptions(url: string, poolSize = 10, busyTimeoutMs = 5000): DataSourceOptions {
  const common = { entities: [ENTITY_FILES] as string[], migrations: MIGRATIONS, synchronize: false, migrationsRun: false } as const;
  if (databaseKind(url) === 'sqlite') {
    const database = sqlitePath(url);
    if (database !== ':memory:') mkdirSync(dirname(database), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database,
      enableWAL: database !== ':memory:',
      // At boot (the migrations) a write waits for another process's lock right here; once the service
      // runs, Database takes the write lock itself, waiting without blocking the event loop.
      timeout: busyTimeoutMs,
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('synchronous = NORMAL');
        // A 64 MB page cache, and a checkpoint every ~40 MB of WAL rather than every 4 MB: a cleanup
        // commits a batch every few milliseconds and rewrites the same index pages each time, and
        // with the default the repeated checkpoints cost more than the deletes (bench/cleanup.js:
        // about 2.5x the deletion time). In the service the cleanup runs on the worker thread's
        // connection, which sets the same values (sqlite-thread.ts, which can import nothing), and
        // Database turns this connection's checkpoints off once the migrations are done.
        db.pragma('cache_size = -65536');
        db.pragma('wal_autocheckpoint = 10000');
      },
    };
  }
  return {
    ...common,
    type: 'postgres',
    url,
    poolSize,
    // Keep the driver from hanging forever on an unreachable server at boot or under failover.
    connectTimeoutMS: 10_000,
    extra: { application_name: 'teddy-scheduler', statement_timeout: 0 },
  };
}

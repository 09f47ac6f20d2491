import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export type TestDb = 'sqlite' | 'postgres';

/** Which database this run of the suite targets: `TEST_DB=postgres npm run test:e2e`. */
export const TEST_DB: TestDb = process.env.TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/** The built-in jobs, in the order the service lists them: the original two, and on PostgreSQL the partition maintenance. */
export const BUILTIN_JOBS = ['daily_data_cleanup', 'cleanup_notifications', ...(TEST_DB === 'postgres' ? ['message_partitions'] : [])];

/** A server database the tests may create and drop databases on. */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database for one test file: a temp SQLite file, or a fresh PostgreSQL database. */
export async function scratchDatabase(kind: TestDb = TEST_DB): Promise<ScratchDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'teddy-e2e-'));
    return { url: `sqlite:${join(dir, 'teddy.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `teddy_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { dataSourceOptions, MIGRATIONS, MIGRATIONS_DIR } from '../src/database/data-source';
import { runMigrations } from '../src/database/migrate';
import { ensurePartitions } from './support/factories';
import { placeholder, sqlTimestamp } from '../src/database/sql';
import { scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..');

async function indexesOf(ds: DataSource, table: string): Promise<string[]> {
  const rows: { name: string }[] =
    TEST_DB === 'postgres'
      ? await ds.query(`SELECT indexname AS name FROM pg_indexes WHERE tablename = $1`, [table])
      : await ds.query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [table]);
  return rows.map((r) => r.name);
}

async function tablesExist(ds: DataSource, tables: string[]): Promise<boolean> {
  const runner = ds.createQueryRunner();
  try {
    for (const table of tables) if (!(await runner.hasTable(table))) return false;
    return true;
  } finally {
    await runner.release();
  }
}

describe(`migrations on an empty ${TEST_DB} database`, () => {
  let database: ScratchDatabase;
  const open: DataSource[] = [];
  const connect = async () => {
    const ds = await new DataSource(dataSourceOptions(database.url, 4)).initialize();
    open.push(ds);
    return ds;
  };

  beforeEach(async () => {
    database = await scratchDatabase();
  });
  afterEach(async () => {
    for (const ds of open.splice(0)) if (ds.isInitialized) await ds.destroy();
    await database.drop();
  });

  it('creates every table with the indexes retention needs, then finds nothing more to do', async () => {
    const ds = await connect();
    await runMigrations(ds);
    expect(await tablesExist(ds, ['guardian', 'child', 'conversation', 'message', 'cleanup_report'])).toBe(true);
    expect(await indexesOf(ds, 'message')).toEqual(expect.arrayContaining(['IDX_message_created', 'IDX_message_conversation_created']));
    expect(await indexesOf(ds, 'conversation')).toEqual(expect.arrayContaining(['IDX_conversation_child_started']));
    expect(await indexesOf(ds, 'child')).toEqual(expect.arrayContaining(['IDX_child_guardian']));
    expect(await indexesOf(ds, 'guardian')).toEqual(expect.arrayContaining(['UQ_guardian_email']));
    expect(await ds.showMigrations()).toBe(false);
    expect(await ds.runMigrations()).toEqual([]);
  });

  it('applies every migration file in src/database/migrations, in the order of their timestamps', async () => {
    const ds = await connect();
    await runMigrations(ds);
    const files = readdirSync(MIGRATIONS_DIR).filter((file) => /^\d{13}-.*\.ts$/.test(file));
    const rows: { timestamp: string | number; name: string }[] = await ds.query('SELECT "timestamp", name FROM migrations ORDER BY id');
    expect(rows.map((r) => String(r.timestamp))).toEqual(files.map((file) => file.slice(0, 13)).sort());
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('cascades guardian to children to conversations, never a conversation to its messages, and enforces the checks', async () => {
    const ds = await connect();
    await runMigrations(ds);
    const g = '00000000-0000-4000-8000-000000000001';
    const c = '00000000-0000-4000-8000-000000000002';
    const v = '00000000-0000-4000-8000-000000000003';
    const p = (i: number) => placeholder(TEST_DB, i);
    const now = sqlTimestamp(TEST_DB, new Date('2026-11-28T00:00:00Z'));
    await ds.query(
      `INSERT INTO guardian (id, email, display_name, locale, notifications_enabled, created_at) VALUES (${p(1)}, 'a@b.co', 'A', 'en', ${TEST_DB === 'postgres' ? 'true' : '1'}, ${p(2)})`,
      [g, now],
    );
    await ds.query(`INSERT INTO child (id, guardian_id, display_name, created_at) VALUES (${p(1)}, ${p(2)}, 'C', ${p(3)})`, [c, g, now]);
    await ds.query(`INSERT INTO conversation (id, child_id, started_at, created_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`, [
      v,
      c,
      now,
      now,
    ]);
    await ensurePartitions(ds, new Date('2026-11-28T00:00:00Z'));
    await ds.query(`INSERT INTO message (id, conversation_id, role, text, created_at) VALUES (${p(1)}, ${p(2)}, 'child', 'hi', ${p(3)})`, [
      '00000000-0000-4000-8000-000000000004',
      v,
      now,
    ]);
    await expect(
      ds.query(`INSERT INTO message (id, conversation_id, role, text, created_at) VALUES (${p(1)}, ${p(2)}, 'robot', 'x', ${p(3)})`, [
        '00000000-0000-4000-8000-000000000005',
        v,
        now,
      ]),
    ).rejects.toThrow(/CHK_message_role|constraint/i);
    await expect(
      ds.query(`INSERT INTO child (id, guardian_id, display_name, created_at) VALUES (${p(1)}, ${p(2)}, 'C', ${p(3)})`, [
        '00000000-0000-4000-8000-000000000006',
        '00000000-0000-4000-8000-0000000000ff',
        now,
      ]),
    ).rejects.toThrow(/foreign key/i);

    if (TEST_DB === 'sqlite') {
      // A conversation that still holds messages cannot be deleted, directly or through its family.
      await expect(ds.query(`DELETE FROM conversation WHERE id = ${p(1)}`, [v])).rejects.toThrow(/foreign key/i);
      await expect(ds.query(`DELETE FROM guardian WHERE id = ${p(1)}`, [g])).rejects.toThrow(/foreign key/i);
    } else {
      // The partitioned message table has no foreign key (its check would probe every partition for
      // each conversation deleted); the service guards the race with row locks instead (test/partitions.e2e-spec.ts).
      const fks: unknown[] = await ds.query(`SELECT 1 FROM pg_constraint WHERE conrelid = 'message'::regclass AND contype = 'f'`);
      expect(fks).toEqual([]);
    }
    await ds.query(`DELETE FROM message WHERE conversation_id = ${p(1)}`, [v]);
    await ds.query(`DELETE FROM guardian WHERE id = ${p(1)}`, [g]);
    const [{ n }] = await ds.query(
      'SELECT (SELECT COUNT(*) FROM child) + (SELECT COUNT(*) FROM conversation) + (SELECT COUNT(*) FROM message) AS n',
    );
    expect(Number(n)).toBe(0);
  });

  it('carries per-run notices into digests: numbered per guardian, their coverage where the latest one ended', async () => {
    const ds = await connect();
    await runMigrations(ds);
    await ds.undoLastMigration();
    const $ = (i: number) => placeholder(TEST_DB, i);
    const at = (iso: string) => sqlTimestamp(TEST_DB, new Date(iso));
    const guardian = '6f1d1e8e-1111-4c57-9a8e-2b7d1e4f6a90';
    await ds.query(
      `INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at) VALUES (${$(1)}, 'm@example.com', 'M', 'en', 7, ${TEST_DB === 'postgres' ? 'true' : '1'}, ${$(2)})`,
      [guardian, at('2026-11-01T00:00:00Z')],
    );
    for (const [i, cleanupAt] of ['2026-12-02T00:00:00Z', '2026-12-03T00:00:00Z'].entries()) {
      await ds.query(
        `INSERT INTO notice (id, guardian_id, cleanup_at, locale, channel, status, next_attempt_at, children, messages, conversations, created_at)
         VALUES (${$(1)}, ${$(2)}, ${$(3)}, 'en', 'log', 'sent', ${$(4)}, '[]', 1, 0, ${$(5)})`,
        [`6f1d1e8e-2222-4c57-9a8e-2b7d1e4f6a9${i}`, guardian, at(cleanupAt), at('2026-12-01T23:00:00Z'), at('2026-12-01T23:00:00Z')],
      );
    }
    await runMigrations(ds);
    const seqs = await ds.query(`SELECT seq FROM notice ORDER BY cleanup_at`);
    expect(seqs.map((r: { seq: number }) => Number(r.seq))).toEqual([1, 2]);
    const [coverage] = await ds.query(`SELECT created_until AS "until", revision FROM notice_coverage WHERE guardian_id = ${$(1)}`, [
      guardian,
    ]);
    // Told up to the last run announced (3 December) less the family's 7 days.
    expect(new Date(typeof coverage.until === 'string' ? `${coverage.until.replace(' ', 'T')}Z` : coverage.until).toISOString()).toBe(
      '2026-11-26T00:00:00.000Z',
    );
    expect(Number(coverage.revision)).toBe(2);
    await ds.undoLastMigration();
    expect(await tablesExist(ds, ['notice_coverage'])).toBe(false);
  });

  it('reverts cleanly', async () => {
    const ds = await connect();
    await runMigrations(ds);
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
    expect(await tablesExist(ds, ['message'])).toBe(false);
    expect(await tablesExist(ds, ['guardian'])).toBe(false);
    expect(await tablesExist(ds, ['cleanup_report'])).toBe(false);
    expect(await ds.showMigrations()).toBe(true);
  });

  // SQLite is the single-process deployment; replicas share a PostgreSQL database.
  (TEST_DB === 'postgres' ? it : it.skip)('lets replicas that start together migrate once between them', async () => {
    const replicas = await Promise.all([connect(), connect(), connect()]);
    await Promise.all(replicas.map((ds) => runMigrations(ds)));
    const rows: unknown[] = await replicas[0].query('SELECT * FROM migrations');
    expect(rows).toHaveLength(MIGRATIONS.length);
  });

  it('runs from the TypeORM CLI as the README says (npm run migration:run)', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'migration:run'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url },
    });
    expect(stdout).toMatch(/Initial1764288000000 has been {2}executed successfully|Migration Initial1764288000000 has been/);
    const ds = await connect();
    expect(await ds.showMigrations()).toBe(false);
  });
});

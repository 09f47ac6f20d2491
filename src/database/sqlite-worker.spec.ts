import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBusy, isForeignKeyViolation } from './errors';
import { SqliteWorker } from './sqlite-worker';

interface Connection {
  exec(sql: string): void;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const BetterSqlite3 = require('better-sqlite3') as new (file: string) => Connection;

describe('SqliteWorker', () => {
  let dir: string;
  let file: string;
  let other: Connection;
  let worker: SqliteWorker;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'teddy-worker-'));
    file = join(dir, 'db.sqlite');
    other = new BetterSqlite3(file);
    other.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id));
      INSERT INTO parent (id) VALUES (1);`);
    worker = new SqliteWorker({ file, busyTimeoutMs: 300, checkpointEveryMs: 60_000 });
  });
  afterEach(async () => {
    await worker.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs statements on a connection of its own, with foreign keys on', async () => {
    expect(await worker.run('INSERT INTO child (id, parent_id) VALUES (?, ?)', [1, 1])).toEqual({ changes: 1, waited: false });
    expect(await worker.all('SELECT id, parent_id FROM child', [])).toEqual([{ id: 1, parent_id: 1 }]);
    const refused = await worker.run('INSERT INTO child (id, parent_id) VALUES (2, 99)').catch((e: unknown) => e);
    expect(isForeignKeyViolation(refused)).toBe(true);
  });

  it('waits for another connection to release the write lock, and says it waited', async () => {
    await worker.all('SELECT 1'); // the thread is up: the lock is held when the statement first tries
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('COMMIT'), 50);
    expect(await worker.run('INSERT INTO child (id, parent_id) VALUES (1, 1)')).toEqual({ changes: 1, waited: true });
  });

  it('gives up after busyTimeoutMs with SQLITE_BUSY, having written nothing', async () => {
    other.exec('BEGIN IMMEDIATE');
    try {
      const error = await worker.run('INSERT INTO child (id, parent_id) VALUES (1, 1)').catch((e: unknown) => e);
      expect(isBusy(error)).toBe(true);
    } finally {
      other.exec('ROLLBACK');
    }
    expect(await worker.all('SELECT COUNT(*) AS n FROM child')).toEqual([{ n: 0 }]);
  });

  it('ends its thread on close, and refuses work after it', async () => {
    await worker.close();
    await expect(worker.all('SELECT 1')).rejects.toThrow(/exited/);
  });
});

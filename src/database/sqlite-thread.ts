/**
 * The body of the SQLite worker thread (see sqlite-worker.ts): a connection of its own to the
 * service's SQLite file, running the statements the main thread sends it. better-sqlite3 is
 * synchronous, so whatever runs here (a cleanup batch, a count over the whole table, a wait for
 * another process's write lock, a WAL checkpoint) stalls this thread and never the event loop that
 * answers HTTP.
 *
 * This file imports nothing of the service's: under ts-jest it is transpiled on its own and run from
 * a string.
 */
import { parentPort, workerData } from 'node:worker_threads';

/** What this thread uses of better-sqlite3 (which ships no types of its own). */
interface Statement {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}
interface Connection {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string): unknown;
  close(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const BetterSqlite3 = require('better-sqlite3') as new (file: string, options: { timeout: number }) => Connection;

export interface ThreadOptions {
  file: string;
  /** How long a write here waits for another connection's write lock. */
  busyTimeoutMs: number;
  /** How often the thread checkpoints the WAL (the main connection never does: see sqlite-worker.ts). */
  checkpointEveryMs: number;
}

export type ThreadRequest = { id: number; op: 'close' } | { id: number; op: 'all' | 'run'; sql: string; params: unknown[] };

export type ThreadReply =
  /** `waited`: another connection held the write lock when the statement first tried. */
  | { id: number; ok: true; rows?: unknown[]; changes?: number; waited?: boolean; ms: number }
  | { id: number; ok: false; message: string; code?: string };

const options = workerData as ThreadOptions;
// No busy timeout of SQLite's own: patiently() waits, and so knows when it had to.
const db = new BetterSqlite3(options.file, { timeout: 0 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -65536');
// This connection writes nearly all of the WAL during a cleanup, so it checkpoints as it goes
// (every ~40 MB, see data-source.ts); the timer below covers what the main connection writes.
db.pragma('wal_autocheckpoint = 10000');
db.pragma('foreign_keys = ON');

// PASSIVE never waits for readers or writers: it copies what it can and leaves the rest for next time.
const checkpoints = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or locked: the next tick tries again.
  }
}, options.checkpointEveryMs);
checkpoints.unref();

const statements = new Map<string, Statement>();
function prepared(sql: string): Statement {
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    if (statements.size > 200) statements.clear();
    statements.set(sql, statement);
  }
  return statement;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs a statement, trying again every millisecond while another connection holds the write lock,
 * for up to busyTimeoutMs. Each statement commits on its own (autocommit), so it takes the lock when
 * it starts, and a retry repeats nothing that was done.
 */
function patiently<T>(statement: () => T): { value: T; waited: boolean } {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: statement(), waited: attempt > 1 };
    } catch (error) {
      const code = String((error as { code?: unknown })?.code ?? '');
      if (!code.startsWith('SQLITE_BUSY') || Date.now() - started >= options.busyTimeoutMs) throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function handle(request: ThreadRequest): Omit<Extract<ThreadReply, { ok: true }>, 'id' | 'ms'> {
  switch (request.op) {
    case 'close':
      clearInterval(checkpoints);
      db.close();
      return { ok: true };
    case 'all':
      return { ok: true, rows: patiently(() => prepared(request.sql).all(...request.params)).value };
    case 'run': {
      const { value, waited } = patiently(() => prepared(request.sql).run(...request.params));
      return { ok: true, changes: value.changes, waited };
    }
  }
}

parentPort!.on('message', (request: ThreadRequest) => {
  const started = performance.now();
  let reply: ThreadReply;
  try {
    reply = { id: request.id, ...handle(request), ms: performance.now() - started };
  } catch (error) {
    const e = error as { message?: string; code?: string };
    reply = { id: request.id, ok: false, message: String(e?.message ?? error), code: e?.code };
  }
  parentPort!.postMessage(reply);
  // Closed: with no port and no timer left, the thread ends by itself.
  if (request.op === 'close') parentPort!.close();
});

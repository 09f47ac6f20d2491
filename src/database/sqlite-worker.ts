import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ThreadOptions, ThreadReply, ThreadRequest } from './sqlite-thread';

/** An error the worker's connection raised, with better-sqlite3's code (SQLITE_BUSY, SQLITE_CONSTRAINT_FOREIGNKEY...). */
export class SqliteThreadError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'SqliteThreadError';
  }
}

type Request = ThreadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * A second connection to the service's SQLite file, on a thread of its own, for the work that would
 * otherwise freeze the event loop: a cleanup's batches and counts. One per process, started with the
 * database module and closed with it.
 *
 * It also owns the WAL's checkpoints: the main connection has wal_autocheckpoint off, since a commit
 * that crosses the threshold runs the checkpoint itself, and a request's commit would then copy
 * whatever a cleanup wrote (up to ~40 MB) before answering.
 */
export class SqliteWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (reply: ThreadReply & { ok: true }) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited?: Error;

  constructor(options: ThreadOptions) {
    this.worker = startThread(options);
    this.worker.on('message', (reply: ThreadReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new SqliteThreadError(reply.message, reply.code));
    });
    const fail = (error: Error) => {
      this.exited = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the SQLite worker thread exited (code ${code})`)));
    // Never what keeps a process alive: a CLI run or a test ends when its own work does.
    this.worker.unref();
  }

  /** Rows of a statement that returns rows. */
  async all<Row>(sql: string, params: unknown[] = []): Promise<Row[]> {
    return ((await this.send({ op: 'all', sql, params: bindable(params) })).rows ?? []) as Row[];
  }

  /** Runs a statement that commits on its own: how many rows it changed, and whether it had to wait for another connection's lock. */
  async run(sql: string, params: unknown[] = []): Promise<{ changes: number; waited: boolean }> {
    const reply = await this.send({ op: 'run', sql, params: bindable(params) });
    return { changes: reply.changes ?? 0, waited: reply.waited ?? false };
  }

  /** Closes the connection and ends the thread. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // Held until the thread has ended: an unreferenced worker is no reason to stay up, and the process
    // would end right here, before whatever follows the close (the command line's exit code).
    this.worker.ref();
    await this.send({ op: 'close' }).catch(() => this.worker.terminate());
    await exit;
  }

  private send(request: Request): Promise<ThreadReply & { ok: true }> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id });
    });
  }
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null; the drivers' other values become those. */
function bindable(params: unknown[]): unknown[] {
  return params.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v));
}

/**
 * The compiled thread file beside this one; under ts-jest, which runs the sources, the thread's
 * TypeScript is transpiled here (typescript is a dev dependency, there whenever the sources run).
 */
function startThread(options: ThreadOptions): Worker {
  const file = join(__dirname, `sqlite-thread${extname(__filename)}`);
  if (extname(__filename) !== '.ts') return new Worker(file, { workerData: options });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const js = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  return new Worker(js, { eval: true, workerData: options });
}

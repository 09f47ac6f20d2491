import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../service-process';

const run = promisify(execFile);

/** Where the PostgreSQL server binaries are (TEST_PG_BIN overrides). */
export const PG_BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** The uid/gid of the `postgres` OS user, when this process is root (initdb refuses to run as root). */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/**
 * A throwaway PostgreSQL cluster of the test's own (initdb in a temp directory, its own port and
 * socket directory), for drills that stop and start the server: the machine's shared server is
 * used by other tests in parallel and is never touched. Tuned for speed (fsync off): durability
 * across a crash of the machine is not what a drill checks, and a fast shutdown still writes
 * everything committed.
 */
export class PrivatePostgres {
  readonly dir: string;
  readonly data: string;
  port = 0;
  private as?: { uid: number; gid: number };
  private started = false;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'teddy-drill-pg-'));
    this.data = join(this.dir, 'data');
  }

  /** initdb + start. On failure, whatever was created is removed before the error is thrown. */
  static async create(): Promise<PrivatePostgres> {
    const pg = new PrivatePostgres();
    // Last resort if the test process ends without its afterAll (the server is a daemon, not our child).
    process.once('exit', pg.onExit);
    try {
      pg.as = await postgresUser();
      if (pg.as) chownSync(pg.dir, pg.as.uid, pg.as.gid);
      pg.port = await freePort();
      await pg.exec('initdb', ['-D', pg.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
      await pg.start();
      return pg;
    } catch (error) {
      await pg.destroy();
      throw error;
    }
  }

  /** postgres://postgres@127.0.0.1:<port>/<database> */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    const client = new Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c max_connections=50',
      '-c shared_buffers=128MB',
    ].join(' ');
    await this.exec('pg_ctl', ['-D', this.data, '-o', options, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
    this.started = true;
  }

  /** pg_ctl stop: `fast` disconnects every client (their transactions roll back) and shuts down cleanly. */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
    this.started = false;
  }

  /** The server's log so far (for failure messages). */
  log(lines = 30): string {
    const file = join(this.dir, 'server.log');
    return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no server log)';
  }

  /**
   * Stops the server (immediate: nothing to keep) and deletes the directory. Never throws: if
   * pg_ctl cannot stop it, the postmaster (whose pid the cluster itself recorded) is killed.
   */
  async destroy(): Promise<void> {
    process.removeListener('exit', this.onExit);
    const pidFile = join(this.data, 'postmaster.pid');
    if (existsSync(pidFile)) {
      await this.exec('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => undefined);
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
    this.started = false;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private readonly onExit = () => {
    try {
      if (existsSync(join(this.data, 'postmaster.pid'))) {
        const bin = join(PG_BIN, 'pg_ctl');
        const args = ['-D', this.data, '-m', 'immediate', '-w', 'stop'];
        if (this.as) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { cwd: this.dir, stdio: 'ignore', timeout: 30_000 });
        else execFileSync(bin, args, { cwd: this.dir, stdio: 'ignore', timeout: 30_000 });
      }
    } catch {
      // nothing more to do at exit
    }
    rmSync(this.dir, { recursive: true, force: true });
  };

  get running(): boolean {
    return this.started;
  }

  private async exec(tool: string, args: string[]): Promise<string> {
    const bin = join(PG_BIN, tool);
    const [file, argv] = this.as ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    try {
      // cwd: the postgres user cannot necessarily read the test's working directory.
      const { stdout } = await run(file, argv, { cwd: this.dir, timeout: 120_000 });
      return stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string; stdout?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: error });
    }
  }
}

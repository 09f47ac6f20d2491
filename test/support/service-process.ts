import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { capturedLog } from './captured-log';

/** The built entry point (npm run build); these tests exercise what ships, in processes of their own. */
export const MAIN = resolve(__dirname, '../../dist/src/main.js');

/** API keys of the spawned services (each role its own, as the service requires). */
export const SERVICE_KEYS = {
  operator: 'cluster-operator-key-000000000001',
  viewer: 'cluster-viewer-key-00000000000002',
  ingest: 'cluster-ingest-key-00000000000003',
} as const;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process ended. */
  at: number;
}

export interface HttpAnswer {
  status: number;
  body: any;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the service to take). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/**
 * A free port below the kernel's ephemeral range, for a peer that must be down. A client connecting
 * to a port inside that range with nothing listening can be handed that very port as its own and
 * connect to itself (a TCP self-connect): the "down" peer then seems to accept and never answer.
 */
export async function freePortOutsideEphemeralRange(): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
    const free = await new Promise<boolean>((done) => {
      const server = createServer();
      server.unref();
      server.once('error', () => done(false));
      server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** One spawned `node dist/src/main.js`. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Resolves when the process has ended (never rejects). */
  readonly exited: Promise<Exit>;
  private exit?: Exit;
  private out = '';
  private readonly cwd: string;

  constructor(
    readonly name: string,
    readonly port: number,
    env: Record<string, string>,
  ) {
    this.cwd = mkdtempSync(join(tmpdir(), `teddy-${name}-`));
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, [MAIN], {
      cwd: this.cwd,
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Kept here for the tests' own checks and messages, and in the file's captured log for a failure.
    const log = capturedLog();
    const collect = (source: string) => (d: Buffer) => {
      this.out += d.toString();
      log.write(source, d.toString());
    };
    this.child.stdout!.on('data', collect(name));
    this.child.stderr!.on('data', collect(`${name} stderr`));
    this.exited = new Promise((done) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal, at: Date.now() };
        done(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** Everything the process wrote to stdout and stderr so far. */
  output(): string {
    return this.out;
  }

  /** The last `lines` lines of output (for failure messages). */
  tail(lines = 40): string {
    return this.out.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** Waits until /health/ready answers 200; fails early with the output if the process ends first. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before it was ready:\n${this.tail()}`);
      try {
        const res = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** An HTTP request to the service as a role (operator by default). */
  async request(method: string, path: string, body?: unknown, role: keyof typeof SERVICE_KEYS = 'operator'): Promise<HttpAnswer> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'X-API-Key': SERVICE_KEYS[role], ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  }

  /** Like request(), but fails unless the status is the expected one. */
  async expect(status: number, method: string, path: string, body?: unknown): Promise<any> {
    const answer = await this.request(method, path, body);
    if (answer.status !== status) {
      throw new Error(`${this.name}: ${method} ${path} answered ${answer.status}, expected ${status}: ${JSON.stringify(answer.body)}`);
    }
    return answer.body;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.alive) this.child.kill(signal);
  }

  /** Kills the process (SIGKILL) if it is still running and waits for it to end; removes its work directory. */
  async stop(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
    rmSync(this.cwd, { recursive: true, force: true });
  }
}

export interface StartOptions {
  name: string;
  databaseUrl: string;
  /** Overrides of the defaults below. */
  env?: Record<string, string>;
}

/**
 * Spawns the built service on a free port with test defaults: its own API keys, logs to stdout only
 * (LOG_FILE=''), at LOG_LEVEL info (the scheduler's lines are the evidence), no request logs, no
 * notice poller, and a CLEANUP_CRON that does not fire during a test.
 */
export async function startService(options: StartOptions): Promise<ServiceProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const port = await freePort();
  return new ServiceProcess(options.name, port, {
    NODE_ENV: 'test',
    DATABASE_URL: options.databaseUrl,
    ADMIN_API_KEY: SERVICE_KEYS.operator,
    VIEWER_API_KEY: SERVICE_KEYS.viewer,
    INGEST_API_KEY: SERVICE_KEYS.ingest,
    LOG_FILE: '',
    LOG_LEVEL: 'info',
    LOG_HTTP_REQUESTS: 'false',
    NOTICE_POLL_SECONDS: '0',
    CLEANUP_CRON: '0 0 1 1 *',
    SCHEDULER_SYNC_SECONDS: '1',
    ...options.env,
  });
}

/** Starts several services and waits until all are ready; if one fails, the others are stopped too. */
export async function startServices(
  names: string[],
  options: Omit<StartOptions, 'name'>,
  started: ServiceProcess[],
): Promise<ServiceProcess[]> {
  const procs: ServiceProcess[] = [];
  for (const name of names) {
    const p = await startService({ ...options, name });
    procs.push(p);
    started.push(p);
  }
  await Promise.all(procs.map((p) => p.ready()));
  return procs;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Polls `probe` until it returns something other than undefined/false, or fails with `what` at the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The promise's value, or undefined if it has not settled within `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

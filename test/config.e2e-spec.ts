import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { scratchDatabase } from './support/databases';
import { freePort, ServiceProcess } from './support/service-process';

const MAIN = resolve(__dirname, '../dist/src/main.js');
const ENV_EXAMPLE = resolve(__dirname, '../.env.example');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The fresh working directory it ran in. */
  cwd: string;
}

/**
 * Runs the built service with a given environment, in a fresh working directory holding `files`, until it exits or
 * `untilStdout` shows up.
 */
function runService(
  env: Record<string, string>,
  untilStdout?: RegExp,
  timeoutMs = 20_000,
  files: Record<string, string> = {},
): Promise<Exit> {
  return new Promise((done, fail) => {
    const cwd = mkdtempSync(join(tmpdir(), 'teddy-config-'));
    for (const [name, content] of Object.entries(files)) writeFileSync(join(cwd, name), content);
    const child = spawn(process.execPath, [MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`service did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (untilStdout?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, cwd });
    });
  });
}

describe('configuration at boot (the built service)', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm test does)`);
  });

  it('stops with one line naming the bad variable and the reason', async () => {
    const { code, stderr, stdout } = await runService({ CLEANUP_CRON: '61 * * * *' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      'Invalid environment variables: CLEANUP_CRON: "61 * * * *" is not a valid cron expression (minute: value 61 is out of range 0-59)',
    ]);
    expect(stdout).toBe('');
  });

  it('names every bad variable, and never prints a secret', async () => {
    const { code, stderr } = await runService({ PORT: '99999', SCHEDULER_TIMEZONE: 'Nowhere/City', VIEWER_API_KEY: 'tooshort' });
    expect(code).toBe(1);
    expect(stderr).toContain('PORT: "99999" must be between 0 (any free port) and 65535');
    expect(stderr).toContain('SCHEDULER_TIMEZONE: "Nowhere/City" is not a known IANA time zone');
    expect(stderr).toContain('VIEWER_API_KEY: must be at least 16 characters');
    expect(stderr).not.toContain('tooshort');
  });

  it('refuses to start in production without ADMIN_API_KEY', async () => {
    const { code, stderr } = await runService({ NODE_ENV: 'production', DATABASE_URL: 'sqlite::memory:' });
    expect(code).toBe(1);
    expect(stderr).toContain('ADMIN_API_KEY: is required when NODE_ENV=production');
  });

  it('outside production generates an operator key, prints it once, and keeps it out of the log file', async () => {
    const database = await scratchDatabase();
    const logDir = mkdtempSync(join(tmpdir(), 'teddy-log-'));
    const logFile = join(logDir, 'teddy.log');
    try {
      const { stderr, stdout } = await runService(
        { DATABASE_URL: database.url, PORT: '0', LOG_FILE: logFile },
        /teddy-scheduler listening/,
      );
      const printed = /generated an operator key.*\n\s+export ADMIN_API_KEY=(\S+)/.exec(stderr);
      expect(printed).not.toBeNull();
      const key = printed![1];
      expect(key).toHaveLength(32);
      expect(stderr.split(key)).toHaveLength(2);
      expect(stdout).not.toContain(key);
      expect(readFileSync(logFile, 'utf8')).not.toContain(key);
      expect(readFileSync(logFile, 'utf8')).toContain('teddy-scheduler listening');
    } finally {
      await database.drop();
    }
  });

  it('outside production also generates a viewer and an ingest key, printed with the operator key as one line to paste into a shell', async () => {
    const database = await scratchDatabase();
    const service = new ServiceProcess('keys', await freePort(), { DATABASE_URL: database.url, LOG_FILE: '' });
    try {
      await service.ready();
      const line = /^ {4}(export ADMIN_API_KEY=\S+ VIEWER_API_KEY=\S+ INGEST_API_KEY=\S+)$/m.exec(service.output());
      expect(line).not.toBeNull();
      // The README's examples, run as written after pasting the line.
      const curl = (role: string, path: string, method = 'GET') =>
        execFileSync('bash', ['-c', `${line![1]}; curl -s -X ${method} -H "X-API-Key: $${role}_API_KEY" ${service.url}${path}`], {
          encoding: 'utf8',
        });
      expect(JSON.parse(curl('VIEWER', '/admin/auth/whoami'))).toEqual({ role: 'viewer' });
      expect(JSON.parse(curl('ADMIN', '/admin/auth/whoami'))).toEqual({ role: 'operator' });
      expect(JSON.parse(curl('VIEWER', '/admin/notifications/trigger', 'POST'))).toMatchObject({ statusCode: 403 });
      expect(JSON.parse(curl('INGEST', '/v1/guardians?email=nobody@example.com'))).toMatchObject({ statusCode: 404 });
      expect(JSON.parse(curl('INGEST', '/admin/auth/whoami'))).toEqual({ role: 'ingest' });
      const viewerKey = /VIEWER_API_KEY=(\S+)/.exec(line![1])![1];
      expect(service.output().split(viewerKey)).toHaveLength(2);
    } finally {
      await service.stop();
      await database.drop();
    }
  });

  describe('.env', () => {
    const listening = /teddy-scheduler listening/;

    it('cp .env.example .env && npm start: the example configures the service as it is, and the process environment wins', async () => {
      const database = await scratchDatabase();
      try {
        // The example's PORT (3000) and DATABASE_URL lose to the process's.
        const { stdout, stderr, cwd } = await runService({ DATABASE_URL: database.url, PORT: '0' }, listening, 20_000, {
          '.env': readFileSync(ENV_EXAMPLE, 'utf8'),
        });
        expect(stderr).toContain('generated an operator key');
        expect(stdout).toMatch(/teddy-scheduler listening on 0\.0\.0\.0:0 /);
        // LOG_FILE=logs/teddy_system.log, relative to the working directory.
        expect(readFileSync(join(cwd, 'logs/teddy_system.log'), 'utf8')).toContain('teddy-scheduler listening');
      } finally {
        await database.drop();
      }
    });

    it('uses what .env sets', async () => {
      const database = await scratchDatabase();
      try {
        const { stdout, stderr } = await runService({ DATABASE_URL: database.url, PORT: '0', LOG_FILE: '' }, listening, 20_000, {
          '.env': 'ADMIN_API_KEY=operator-key-from-dotenv-0001\n',
        });
        expect(stderr).not.toContain('generated an operator key');
        expect(stdout).toContain('operator key loaded from ADMIN_API_KEY');
        expect(stdout).not.toContain('operator-key-from-dotenv-0001');
      } finally {
        await database.drop();
      }
    });

    it('reads the file ENV_FILE names, and stops with one line when it is missing', async () => {
      const { code, stderr, stdout, cwd } = await runService({ ENV_FILE: 'nowhere.env' });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        `Invalid environment variables: ENV_FILE: cannot read ${JSON.stringify(join(cwd, 'nowhere.env'))} (ENOENT)`,
      ]);
      expect(stdout).toBe('');

      const named = await runService({ ENV_FILE: 'staging.env' }, undefined, 20_000, { 'staging.env': 'CLEANUP_CRON=61 * * * *\n' });
      expect(named.code).toBe(1);
      expect(named.stderr).toContain('CLEANUP_CRON: "61 * * * *" is not a valid cron expression');
    });
  });
});

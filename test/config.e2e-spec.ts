import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { scratchDatabase } from './support/databases';

const MAIN = resolve(__dirname, '../dist/src/main.js');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built service with a given environment until it exits or `untilStdout` shows up. */
function runService(env: Record<string, string>, untilStdout?: RegExp, timeoutMs = 20_000): Promise<Exit> {
  return new Promise((done, fail) => {
    const cwd = mkdtempSync(join(tmpdir(), 'teddy-config-'));
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
      done({ code, stdout, stderr });
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
      const printed = /generated an operator key for this process only:\s+(\S+)/.exec(stderr);
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
});

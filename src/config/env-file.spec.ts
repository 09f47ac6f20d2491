import { getMetadataStorage } from 'class-validator';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { loadEnvFile } from './env-file';
import { Env, EnvValidationError, validateEnv } from './env.validation';

const EXAMPLE = resolve(__dirname, '../../.env.example');

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'teddy-env-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe('loadEnvFile', () => {
  it('reads .env from the working directory; the process environment wins, even when set to an empty string', () => {
    const dir = dirWith({ '.env': 'RETENTION_DAYS=14\nPORT=3000\nLOG_FILE=from-file.log\n# a comment\nCLEANUP_CRON=0 2 * * *\n' });
    const env: NodeJS.ProcessEnv = { PORT: '0', LOG_FILE: '' };
    expect(loadEnvFile(env, dir)).toBe(join(dir, '.env'));
    expect(env).toEqual({ PORT: '0', LOG_FILE: '', RETENTION_DAYS: '14', CLEANUP_CRON: '0 2 * * *' });
    expect(validateEnv(env)).toMatchObject({ PORT: 0, LOG_FILE: '', RETENTION_DAYS: 14, CLEANUP_CRON: '0 2 * * *' });
  });

  it('is a no-op without a .env', () => {
    const env: NodeJS.ProcessEnv = { PORT: '0' };
    expect(loadEnvFile(env, dirWith({}))).toBeUndefined();
    expect(env).toEqual({ PORT: '0' });
  });

  it('reads the file ENV_FILE names instead (relative to the working directory), and refuses a missing one', () => {
    const dir = dirWith({ '.env': 'RETENTION_DAYS=14\n', 'staging.env': 'RETENTION_DAYS=7\n' });
    const env: NodeJS.ProcessEnv = { ENV_FILE: 'staging.env' };
    expect(loadEnvFile(env, dir)).toBe(join(dir, 'staging.env'));
    expect(env.RETENTION_DAYS).toBe('7');

    const missing = { ENV_FILE: 'nowhere.env' };
    expect(() => loadEnvFile(missing, dir)).toThrow(EnvValidationError);
    expect(() => loadEnvFile(missing, dir)).toThrow(`ENV_FILE: cannot read ${JSON.stringify(join(dir, 'nowhere.env'))} (ENOENT)`);
  });

  it('refuses a .env it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'teddy-env-'));
    mkdirSync(join(dir, '.env'));
    expect(() => loadEnvFile({}, dir)).toThrow(/^Invalid environment variables: \.env: cannot read .* \(EISDIR\)$/);
  });
});

describe('.env.example', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const parsed = parseEnv(text);
  const known = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(Env, '', true, false)
      .map((m) => m.propertyName),
  );

  it('holds only comments, blank lines and NAME=value lines, each naming a variable the service validates', () => {
    const assignments = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(assignments.length).toBeGreaterThan(30);
    for (const line of assignments) {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      expect(match && { name: match[1], known: known.has(match[1]), value: parsed[match[1]] }).toEqual({
        name: match?.[1],
        known: true,
        value: match?.[2],
      });
    }
    expect(Object.keys(parsed)).toHaveLength(assignments.length);
  });

  it('copied to .env, validates as is and gives the defaults it claims to show', () => {
    const dir = dirWith({ '.env': text });
    const env: NodeJS.ProcessEnv = {};
    loadEnvFile(env, dir);
    expect(env).toEqual(parsed);
    expect(validateEnv(env)).toEqual(validateEnv({}));
  });
});

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { EnvValidationError } from './env.validation';

/**
 * Reads `.env` from the working directory, or the file named by ENV_FILE, into `env` (process.env), without replacing
 * a variable that is already set, even to an empty string: what the process was started with wins over a file left on
 * disk. A missing `.env` is normal (most deployments have none); a missing ENV_FILE is an error, since someone asked
 * for it. Values are never logged or echoed. The service, the job command and the migration CLI all call this before
 * validateEnv, so one file configures the three alike. Returns the path read, if any.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  const explicit = env.ENV_FILE || undefined;
  const path = resolve(cwd, explicit ?? '.env');
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return undefined;
    throw new EnvValidationError([`${explicit ? 'ENV_FILE' : '.env'}: cannot read ${JSON.stringify(path)} (${code ?? 'unreadable'})`]);
  }
  for (const [key, value] of Object.entries(parseEnv(content))) {
    if (env[key] === undefined && value !== undefined) env[key] = value;
  }
  return path;
}

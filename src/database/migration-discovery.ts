import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { MigrationInterface } from 'typeorm';

/** A migration file: `<13-digit timestamp>-<name>.ts` (or `.js` once compiled). Helpers beside them have no timestamp. */
export const MIGRATION_FILE = /^(\d{13})-[^.]+\.(ts|js)$/;

export type MigrationClass = new () => MigrationInterface;

/**
 * The migration files in `dir`, oldest first. Only files with `ext`: the folder holds `.ts` under
 * ts-jest and `.js` (beside `.js.map`) in dist/, and the extension this module was loaded with says which.
 */
export function migrationFiles(dir: string, ext = extname(__filename)): string[] {
  return readdirSync(dir)
    .filter((file) => MIGRATION_FILE.test(file) && extname(file) === ext)
    .sort();
}

/**
 * The migration classes of `dir`, oldest first, one per file. A file must export exactly one class
 * named after its timestamp (TypeORM reads a migration's timestamp from the end of its name), so a
 * misnamed or half-written migration stops the service at start instead of being skipped.
 */
export function discoverMigrations(dir: string, ext = extname(__filename)): MigrationClass[] {
  return migrationFiles(dir, ext).map((file) => {
    const timestamp = MIGRATION_FILE.exec(file)![1];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the file list is only known at run time
    const exported: Record<string, unknown> = require(join(dir, file));
    const classes = Object.values(exported).filter((value): value is MigrationClass => typeof value === 'function');
    if (classes.length !== 1 || !classes[0].name.endsWith(timestamp)) {
      const names = classes.map((c) => c.name).join(', ') || 'none';
      throw new Error(`${join(dir, file)} must export one migration class whose name ends with ${timestamp} (found: ${names})`);
    }
    const [migration] = classes;
    if (typeof migration.prototype.up !== 'function' || typeof migration.prototype.down !== 'function') {
      throw new Error(`${join(dir, file)}: ${migration.name} must have up() and down() methods`);
    }
    return migration;
  });
}

#!/usr/bin/env node
// npm run migration:create -- <name> [--dir <folder>]
// Writes <folder>/<13-digit timestamp>-<name>.ts (default folder: src/database/migrations), a migration
// class that the service finds by its file name: nothing else to register.
const { existsSync, readdirSync, writeFileSync } = require('node:fs');
const { join, relative, resolve } = require('node:path');

const USAGE = 'usage: npm run migration:create -- <name> [--dir <folder>]   (name in kebab-case, e.g. add-guardian-phone)';

function fail(message) {
  console.error(message);
  process.exit(2);
}

const args = process.argv.slice(2);
const dirAt = args.indexOf('--dir');
const dir = resolve(dirAt >= 0 ? (args[dirAt + 1] ?? fail(USAGE)) : join(__dirname, '../src/database/migrations'));
const [name, ...rest] = dirAt >= 0 ? args.filter((_, i) => i !== dirAt && i !== dirAt + 1) : args;
if (!name || rest.length > 0) fail(USAGE);
if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name)) fail(`"${name}" is not a kebab-case name\n${USAGE}`);
if (!existsSync(dir)) fail(`${dir} does not exist`);

// Later than every migration already there, even if this machine's clock is behind the author of the last one.
const latest = Math.max(0, ...readdirSync(dir).map((file) => Number(/^(\d{13})-/.exec(file)?.[1] ?? 0)));
const timestamp = Math.max(Date.now(), latest + 1);
const className = name.replace(/(^|-)([a-z0-9])/g, (_, __, c) => c.toUpperCase()) + timestamp;
const file = join(dir, `${timestamp}-${name}.ts`);

writeFileSync(
  file,
  `import { MigrationInterface, QueryRunner } from 'typeorm';

export class ${className} implements MigrationInterface {
  name = '${className}';

  // Runs on SQLite and PostgreSQL alike: use queryRunner's schema API (createTable, addColumn,
  // createIndex) with columnTypes() from ./column-types for uuid and timestamp columns, or SQL both accept.
  async up(queryRunner: QueryRunner): Promise<void> {
    // Until written, this stops the service and the tests rather than being recorded as applied.
    throw new Error('${className}.up is not written yet');
  }

  // The exact inverse of up(), so that npm run migration:revert works.
  async down(queryRunner: QueryRunner): Promise<void> {
    throw new Error('${className}.down is not written yet');
  }
}
`,
  { flag: 'wx' },
);
console.log(relative(process.cwd(), file));

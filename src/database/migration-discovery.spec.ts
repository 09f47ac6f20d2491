import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MIGRATIONS, MIGRATIONS_DIR } from './data-source';
import { discoverMigrations } from './migration-discovery';

const ROOT = resolve(__dirname, '../..');
const CREATE = join(ROOT, 'scripts/migration-create.js');
// Inside the repository (and ignored by git), so that a migration's `from 'typeorm'` resolves there.
const SCRATCH = join(ROOT, 'test-artifacts');

/** npm run migration:create -- <name> --dir <dir>; returns the path it printed. */
function create(name: string, dir: string): string {
  return resolve(execFileSync(process.execPath, [CREATE, name, '--dir', dir], { encoding: 'utf8' }).trim());
}

describe('migration discovery', () => {
  let dir: string;
  beforeEach(() => {
    mkdirSync(SCRATCH, { recursive: true });
    dir = mkdtempSync(join(SCRATCH, 'migrations-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds every migration file of src/database/migrations, oldest first, and not the helpers beside them', () => {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((file) => /^\d{13}-.*\.ts$/.test(file))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(readdirSync(MIGRATIONS_DIR)).toContain('column-types.ts');
    // Each class is named after its file's timestamp, so this also checks the order.
    expect(MIGRATIONS.map((m) => m.name.slice(-13))).toEqual(files.map((file) => file.slice(0, 13)));
    expect(MIGRATIONS.map((m) => m.name).slice(0, 5)).toEqual([
      'Initial1764288000000',
      'CleanupReports1764374400000',
      'Notices1764460800000',
      'Scheduler1764547200000',
      'Erasures1764633600000',
    ]);
  });

  it('picks up a migration written by migration:create after the older ones, and only files of its own extension', () => {
    writeFileSync(
      join(dir, '1000000000000-first.ts'),
      'export class First1000000000000 { async up(): Promise<void> {} async down(): Promise<void> {} }\n',
    );
    writeFileSync(join(dir, 'column-types.ts'), 'export function columnTypes() { return {}; }\n');
    writeFileSync(
      join(dir, '1000000000001-compiled.js'),
      'exports.Compiled1000000000001 = class Compiled1000000000001 { up() {} down() {} };\n',
    );
    writeFileSync(join(dir, '1000000000001-compiled.js.map'), '{}\n');

    const created = create('add-guardian-phone', dir);
    expect(created).toMatch(/[/\\]\d{13}-add-guardian-phone\.ts$/);
    const second = create('drop-old-index', dir);

    const found = discoverMigrations(dir, '.ts');
    expect(found.map((m) => m.name)).toEqual([
      'First1000000000000',
      expect.stringMatching(/^AddGuardianPhone\d{13}$/),
      expect.stringMatching(/^DropOldIndex\d{13}$/),
    ]);
    expect(Number(found[2].name.slice(-13))).toBeGreaterThan(Number(found[1].name.slice(-13)));
    expect(second.endsWith(`${found[2].name.slice(-13)}-drop-old-index.ts`)).toBe(true);
    expect(discoverMigrations(dir, '.js').map((m) => m.name)).toEqual(['Compiled1000000000001']);
  });

  it('gives a fresh migration bodies that refuse to run, so an unwritten one is never recorded as applied', async () => {
    create('add-guardian-phone', dir);
    const [Migration] = discoverMigrations(dir, '.ts');
    await expect(new Migration().up({} as never)).rejects.toThrow(/is not written yet/);
    await expect(new Migration().down({} as never)).rejects.toThrow(/is not written yet/);
  });

  it('refuses a file whose class is not named after its timestamp, or is not a migration', () => {
    writeFileSync(join(dir, '1000000000000-misnamed.js'), 'exports.Misnamed = class Misnamed { up() {} down() {} };\n');
    expect(() => discoverMigrations(dir, '.js')).toThrow(
      /1000000000000-misnamed\.js must export one migration class whose name ends with 1000000000000 \(found: Misnamed\)/,
    );
    rmSync(join(dir, '1000000000000-misnamed.js'));
    writeFileSync(join(dir, '1000000000000-half.js'), 'exports.Half1000000000000 = class Half1000000000000 { up() {} };\n');
    expect(() => discoverMigrations(dir, '.js')).toThrow(/Half1000000000000 must have up\(\) and down\(\) methods/);
  });
});

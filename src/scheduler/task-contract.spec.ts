import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/*
 * Data flows one way, scheduler → (cleanup | notifications) (DESIGN.md). The modules that declare jobs
 * implement the scheduler's task contract, so they import from the scheduler, but only what loads no
 * scheduler code at run time: types (erased by the compiler) and the @JobTask decorator, whose file
 * imports nothing of the project at run time. Then no import cycle can run through them.
 */

const SRC = join(__dirname, '..');
const files = (dir: string): string[] =>
  readdirSync(join(SRC, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [],
  );
/** Each import statement of a file: whether it is type-only, and what it names. */
const imports = (file: string) =>
  [...readFileSync(join(SRC, file), 'utf8').matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].map((m) => ({
    typeOnly: Boolean(m[1]),
    from: m[2],
  }));

describe('the task contract and @JobTask load no scheduler code into the modules that declare jobs', () => {
  it('task-contract.ts and job-task.decorator.ts import nothing of the project at run time', () => {
    for (const file of ['scheduler/task-contract.ts', 'scheduler/job-task.decorator.ts']) {
      const runtime = imports(file).filter((i) => !i.typeOnly && i.from.startsWith('.'));
      expect({ file, runtime }).toEqual({ file, runtime: [] });
    }
    expect(readFileSync(join(SRC, 'scheduler/task-contract.ts'), 'utf8')).not.toMatch(/^export (const|function|class|enum)/m);
  });

  it('cleanup and notifications import from the scheduler only types and the decorator', () => {
    const checked: string[] = [];
    for (const file of [...files('cleanup'), ...files('notifications')]) {
      for (const { typeOnly, from } of imports(file)) {
        if (!from.includes('/scheduler/')) continue;
        checked.push(file);
        const target = relative(SRC, join(SRC, file, '..', from));
        if (!typeOnly) expect({ file, from: target }).toEqual({ file, from: 'scheduler/job-task.decorator' });
      }
    }
    // The guard looks at something: the jobs classes and the services' runTask import the contract.
    expect(checked).toEqual(
      expect.arrayContaining(['cleanup/cleanup.jobs.ts', 'notifications/notice.jobs.ts', 'cleanup/cleanup.service.ts']),
    );
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KEYS, startApp, TestApp } from './support/app';

/**
 * What a team consuming the API does: types generated from the committed docs/openapi.json with
 * openapi-typescript, a program calling the service through openapi-fetch with them, compiled by tsc
 * --strict and run against a listening service. The program's calls go through the typed paths, so a
 * field, parameter or path the document does not have fails to compile (checked below too).
 */

const ROOT = resolve(__dirname, '..');
const OPENAPI_TYPESCRIPT = join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** The client program; `BAD:` comments mark the lines the broken variant changes. */
const PROGRAM = `import createClient from 'openapi-fetch';
import type { paths } from './teddy.js';

const [baseUrl, key] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl, headers: { 'X-API-Key': key } });

/** The answer's data, or a failure naming the call, its status and the service's error body. */
function ok<T>(call: string, answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.data === undefined) throw new Error(call + ': ' + answer.response.status + ' ' + JSON.stringify(answer.error));
  return answer.data;
}

const guardian = ok(
  'createGuardian',
  await client.POST('/v1/guardians', { body: { email: 'layla.hassan@example.com', displayName: 'Layla', locale: 'ar' } }), // BAD: field
);
const child = ok(
  'createChild',
  await client.POST('/v1/guardians/{guardianId}/children', {
    params: { path: { guardianId: guardian.id } }, // BAD: parameter
    body: { displayName: 'Omar' },
  }),
);
const conversation = ok(
  'createConversation',
  await client.POST('/v1/children/{childId}/conversations', { params: { path: { childId: child.id } }, body: {} }),
);
const path = { conversationId: conversation.id };
// A minute ago, a second apart: messages of one millisecond have no defined order when read back.
const at = (second: number) => new Date(Date.now() - 60_000 + second * 1000).toISOString();
const single = ok(
  'appendMessages (one)',
  await client.POST('/v1/conversations/{conversationId}/messages', {
    params: { path },
    body: { role: 'child', text: 'Teddy, why is the sky blue?', createdAt: at(0) },
  }),
);
const batch = ok(
  'appendMessages (batch)',
  await client.POST('/v1/conversations/{conversationId}/messages', {
    params: { path },
    body: {
      messages: [
        { role: 'teddy', text: 'Because air scatters blue light the most.', createdAt: at(1) },
        { role: 'child', text: 'Good night Teddy', createdAt: at(2) },
      ],
    },
  }),
);
const page = ok('listMessages', await client.GET('/v1/conversations/{conversationId}/messages', { params: { path, query: { limit: 10 } } }));
const texts: string[] = page.items.map((message) => message.text); // BAD: response
const batchCount: number = 'count' in batch ? batch.count : -1;
const singleId: string = 'id' in single ? single.id : '';
process.stdout.write(JSON.stringify({ guardian, child, conversation, singleId, batchCount, texts }));
`;

/** The same program with one misnamed field in a request body, a path parameter and a response. */
const BROKEN = PROGRAM.replace("displayName: 'Layla'", "display_name: 'Layla'")
  .replace('path: { guardianId: guardian.id }', 'path: { guardian: guardian.id }')
  .replace('(message) => message.text)', '(message) => message.txt)');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((done) => {
    execFile(process.execPath, [file, ...args], { cwd, timeout: 120_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

function succeeded(what: string, ran: Ran): string {
  if (ran.code !== 0) throw new Error(`${what} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`);
  return ran.stdout;
}

/** tsc --strict on one program in `dir` (no skipLibCheck: the generated teddy.d.ts is checked too). */
function compile(dir: string, program: string, outDir: string): Promise<Ran> {
  return run(
    TSC,
    [
      ...['--strict', '--noEmit', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023'],
      ...['--lib', 'es2023,dom', '--types', 'node', '--outDir', outDir, program],
    ],
    dir,
  );
}

function badLines(source: string): number[] {
  return source
    .split('\n')
    .flatMap((line, i) => (line.includes('// BAD:') ? [i + 1] : []))
    .sort((a, b) => a - b);
}

describe('a client generated from docs/openapi.json', () => {
  let t: TestApp;
  let dir: string;
  let baseUrl: string;
  let good: Ran;
  let broken: Ran;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'teddy-client-'));
    // The program imports openapi-fetch (and tsc finds @types/node) through the repository's node_modules.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    succeeded(
      'openapi-typescript',
      await run(OPENAPI_TYPESCRIPT, [join(ROOT, 'docs', 'openapi.json'), '--default-non-nullable', 'false', '-o', 'teddy.d.ts'], dir),
    );
    writeFileSync(join(dir, 'client.mts'), PROGRAM);
    writeFileSync(join(dir, 'broken.mts'), BROKEN);
    [good, broken, t] = await Promise.all([
      compile(dir, 'client.mts', 'out'),
      compile(dir, 'broken.mts', 'out-broken'),
      startApp().then(async (app) => {
        await app.app.listen(0, '127.0.0.1');
        return app;
      }),
    ]);
    const address = t.app.getHttpServer().address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('compiles with tsc --strict, generated types included', () => {
    succeeded('tsc client.mts', good);
    expect(good.stdout).toBe('');
  });

  it('does not compile with a misnamed body field, path parameter or response field', () => {
    expect(broken.code).not.toBe(0);
    const lines = [...broken.stdout.matchAll(/^broken\.mts\((\d+),\d+\): error TS\d+/gm)].map((m) => Number(m[1]));
    expect([...new Set(lines)].sort((a, b) => a - b)).toEqual(badLines(BROKEN));
    // Nothing else is wrong with it, in particular nothing in the generated file.
    const elsewhere = broken.stdout
      .split('\n')
      .filter((line) => line.trim() !== '' && !/^\s/.test(line) && !line.startsWith('broken.mts('));
    expect(elsewhere).toEqual([]);
  });

  it('creates a family and appends messages, one and a batch, against the running service', async () => {
    const out = JSON.parse(succeeded('node out/client.mjs', await run(join(dir, 'out', 'client.mjs'), [baseUrl, KEYS.ingest], dir)));
    expect(out.guardian).toMatchObject({ id: expect.any(String), email: 'layla.hassan@example.com', displayName: 'Layla', locale: 'ar' });
    expect(out.child).toMatchObject({ id: expect.any(String), guardianId: out.guardian.id, displayName: 'Omar' });
    expect(out.conversation).toMatchObject({ id: expect.any(String), childId: out.child.id });
    expect(out.batchCount).toBe(2);
    const texts = ['Teddy, why is the sky blue?', 'Because air scatters blue light the most.', 'Good night Teddy'];
    expect(out.texts).toEqual(texts);

    // What the service stored, read past the client.
    const stored = await t.http.get(`/v1/conversations/${out.conversation.id}/messages`).set(t.as('ingest')).expect(200);
    expect(stored.body.items.map((m: { role: string; text: string }) => [m.role, m.text])).toEqual([
      ['child', texts[0]],
      ['teddy', texts[1]],
      ['child', texts[2]],
    ]);
    expect(stored.body.items[0].id).toBe(out.singleId);
    expect(stored.body.items.every((m: { conversationId: string }) => m.conversationId === out.conversation.id)).toBe(true);
    const conversations = await t.http.get(`/v1/children/${out.child.id}/conversations`).set(t.as('ingest')).expect(200);
    expect(conversations.body.items.map((c: { id: string }) => c.id)).toEqual([out.conversation.id]);
  });
});

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { scratchDatabase, ScratchDatabase, TEST_DB } from './support/databases';
import { freePort, ServiceProcess } from './support/service-process';

const README = resolve(__dirname, '../README.md');

/** The shell blocks of one README section, from its heading to the next one of the same level. */
function shellBlocks(heading: string): string[] {
  const text = readFileSync(README, 'utf8');
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const level = heading.split(' ')[0];
  const end = text.indexOf(`\n${level} `, start + heading.length + 2);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe(`the README's walk-through of /v1 on ${TEST_DB}`, () => {
  let database: ScratchDatabase;
  let service: ServiceProcess;

  beforeAll(async () => {
    database = await scratchDatabase();
    // As the quick start runs it: no keys configured, so the service generates them and prints the line to paste.
    service = new ServiceProcess('readme', await freePort(), { DATABASE_URL: database.url, LOG_FILE: '' });
    await service.ready();
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
    await database?.drop();
  });

  it('"Integrating the Teddy app" runs as written, from the pasted keys to a stored conversation', async () => {
    const exported = /^ {4}(export ADMIN_API_KEY=\S+ VIEWER_API_KEY=\S+ INGEST_API_KEY=\S+)$/m.exec(service.output());
    expect(exported).not.toBeNull();
    const blocks = shellBlocks('## Integrating the Teddy app');
    expect(blocks.length).toBeGreaterThan(0);
    const commands = blocks.join('\n').replaceAll('localhost:3000', `127.0.0.1:${service.port}`);
    // Any answer of 400 or more stops the script (--fail-with-body), so every step must succeed as written.
    const script = [
      'set -euo pipefail',
      exported![1],
      'curl() { command curl --fail-with-body "$@"; echo; }',
      commands,
      'echo "ids $GUARDIAN_ID $CHILD_ID $CONVERSATION_ID $MESSAGE_ID"',
    ].join('\n');
    const out = execFileSync('bash', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
    const lines = out.split('\n').filter((l) => l.trim() !== '');
    const [guardianId, childId, conversationId, messageId] = /^ids (\S+) (\S+) (\S+) (\S+)$/m.exec(out)!.slice(1);
    const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l.replace(/ \d{3}$/, '')));

    // Steps 1-3: each object under the id the app chose.
    expect(json[0]).toMatchObject({ id: guardianId, email: 'layla@example.com', displayName: 'Layla', retentionDays: null });
    expect(json[1]).toMatchObject({ id: childId, guardianId });
    expect(json[2]).toMatchObject({ id: conversationId, childId });
    expect(json[3]).toMatchObject({ id: messageId, role: 'child' });
    expect(json[4]).toMatchObject({ count: 2, createdCount: 2 });
    // Step 4: the retry is a 200 with the stored message.
    const retry = lines.find((l) => l.endsWith(' 200'));
    expect(retry && JSON.parse(retry.slice(0, -4))).toEqual(json[3]);
    // Step 5: three messages, none twice.
    expect(json[6].items.map((m: { text: string }) => m.text)).toEqual([
      'Teddy, why is the sky blue?',
      'Because air scatters blue light the most!',
      'Wow',
    ]);
    // Step 6: read, found by e-mail, 14 days, one child.
    expect(json[7]).toEqual(json[0]);
    expect(json[8]).toEqual(json[0]);
    expect(json[9]).toMatchObject({ id: guardianId, retentionDays: 14 });
    expect(json[10]).toEqual({ items: [json[1]], nextCursor: null });
  });
});

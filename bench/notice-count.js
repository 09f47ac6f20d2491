#!/usr/bin/env node
// Notices per daily-active family over 30 days, with the default schedules (notices 23:00 UTC,
// cleanup 00:00 UTC, RETENTION_DAYS 30, NOTICE_DAYS_BEFORE 2, NOTICE_DIGEST_DAYS 7).
//   npm run build && node bench/notice-count.js [families=1000]
//
// Seeds FAMILIES families (one child, one conversation, two messages a day for the 30 days before
// 1 December: 10:00 and 17:00 UTC), half of them on noticeFrequency 'digest' and half on 'each_run'.
// Then, for 30 days: the day's two messages each (inserted by SQL, stamped received at their time),
// NoticeService.enqueue() at 23:00 and CleanupService.run() at midnight, as the scheduler would run
// them. Prints per frequency: notices per family, how many came on short notice, the shortest lead
// of the others, and whether every message the cleanups deleted was announced exactly once before
// (summed per deletion time over the notices' groups). SQLite always; PostgreSQL too when it answers.
const { boot, dist, scratch, databaseKinds } = require('./in-process');

const { Database } = dist('src/database/database.service');
const { NoticeService } = dist('src/notifications/notice.service');
const { CleanupService } = dist('src/cleanup/cleanup.service');
const { JobCatalogue } = dist('src/scheduler/job-catalogue');

const FAMILIES = Number(process.argv[2] ?? 1000);
const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.parse('2026-12-01T00:00:00.000Z');

const id = (prefix, i) => `${prefix}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

async function run(kind) {
  const database = await scratch(kind, 'count');
  // The jobs are run by hand below, at the times the scheduler would run them.
  const { app, clock } = await boot(database.url, new Date(START), { SCHEDULER_ENABLED: 'false' });
  try {
    const db = app.get(Database);
    const ts = (ms) => (kind === 'postgres' ? new Date(ms) : new Date(ms).toISOString().replace('T', ' ').replace('Z', ''));
    const p = (i) => (kind === 'postgres' ? `$${i}` : '?');
    const bool = kind === 'postgres' ? 'true' : '1';
    const old = ts(START - 60 * DAY);
    for (let f = 1; f <= FAMILIES; f++) {
      const frequency = f % 2 ? 'digest' : 'each_run';
      await db.transaction(async (m) => {
        await m.query(
          `INSERT INTO guardian (id, email, display_name, locale, notifications_enabled, notice_frequency, created_at)
           VALUES (${p(1)}, ${p(2)}, 'Parent', 'en', ${bool}, ${p(3)}, ${p(4)})`,
          [id('00000001', f), `parent${f}@bench.example`, frequency, old],
        );
        await m.query(`INSERT INTO child (id, guardian_id, display_name, created_at) VALUES (${p(1)}, ${p(2)}, 'Child', ${p(3)})`, [
          id('00000002', f),
          id('00000001', f),
          old,
        ]);
        await m.query(`INSERT INTO conversation (id, child_id, started_at, created_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)})`, [
          id('00000003', f),
          id('00000002', f),
          old,
          old,
        ]);
      });
    }
    let seq = 0;
    /** The day's two messages for every family, received when said (null: the history, there before any notice). */
    const say = async (day, received) => {
      const rows = [];
      for (let f = 1; f <= FAMILIES; f++)
        for (const h of [10, 17])
          rows.push([id('00000004', ++seq), id('00000003', f), ts(day + h * HOUR), received ? ts(day + h * HOUR) : null]);
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        const values = chunk.map((_, r) => `(${p(4 * r + 1)}, ${p(4 * r + 2)}, 'child', 'hello', ${p(4 * r + 3)}, ${p(4 * r + 4)})`);
        await db.transaction((m) =>
          m.query(
            `INSERT INTO message (id, conversation_id, role, text, created_at, received_at) VALUES ${values.join(', ')}`,
            chunk.flat(),
          ),
        );
      }
    };
    if (kind === 'postgres')
      await db.dataSource.query('SELECT ensure_message_partitions($1, $2)', [new Date(START - 31 * DAY), new Date(START + 31 * DAY)]);
    for (let d = 30; d >= 1; d--) await say(START - d * DAY, false);

    const notices = app.get(NoticeService);
    const cleanup = app.get(CleanupService);
    const calendars = app.get(JobCatalogue).calendars();
    const deletedAt = new Map();
    let noticeMs = 0;
    for (let k = 0; k < 30; k++) {
      const day = START + k * DAY;
      clock.set(new Date(day + 17 * HOUR));
      await say(day, true);
      const evening = new Date(day + 23 * HOUR);
      clock.set(evening);
      noticeMs += (await notices.enqueue({ now: evening, ...calendars })).durationMs;
      const midnight = new Date(day + DAY);
      clock.set(midnight);
      const report = await cleanup.run({ at: midnight, trigger: 'manual', triggeredBy: 'bench' });
      deletedAt.set(midnight.getTime(), report.messagesDeleted);
    }

    const rows = await db.dataSource.query(
      `SELECT n.guardian_id AS g, n.frequency AS frequency, n.created_at AS "createdAt", n.cleanup_at AS "cleanupAt", n.short_notice AS short, n.groups AS groups
         FROM notice n`,
    );
    const byFrequency = new Map();
    const announced = new Map();
    for (const r of rows) {
      const stat = byFrequency.get(r.frequency) ?? { perFamily: new Map(), short: 0, minLeadH: Infinity };
      byFrequency.set(r.frequency, stat);
      stat.perFamily.set(r.g, (stat.perFamily.get(r.g) ?? 0) + 1);
      const created = new Date(r.createdAt).getTime() || Date.parse(`${r.createdAt}Z`);
      const first = new Date(r.cleanupAt).getTime() || Date.parse(`${r.cleanupAt}Z`);
      if (r.short === true || r.short === 1) stat.short += 1;
      else stat.minLeadH = Math.min(stat.minLeadH, (first - created) / HOUR);
      for (const g of JSON.parse(r.groups))
        announced.set(Date.parse(g.deleteAt), (announced.get(Date.parse(g.deleteAt)) ?? 0) + g.messages);
    }
    let exact = true;
    for (const [at, n] of deletedAt) if (announced.get(at) !== n) exact = false;
    const deleted = [...deletedAt.values()].reduce((a, b) => a + b, 0);
    return { kind, byFrequency, exact, deleted, noticeMs: noticeMs / 30 };
  } finally {
    await app.close();
    await database.drop();
  }
}

async function main() {
  const kinds = await databaseKinds();
  console.log(`node ${process.version}, ${FAMILIES.toLocaleString('en-US')} daily-active families, 30 days\n`);
  console.log(
    '| database | noticeFrequency | notices per family in 30 days | on short notice | shortest other lead | deleted, each announced once before | notice run (mean) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const kind of kinds) {
    const r = await run(kind);
    for (const [frequency, s] of [...r.byFrequency].sort()) {
      const counts = [...s.perFamily.values()];
      const range = `${Math.min(...counts)}${Math.max(...counts) !== Math.min(...counts) ? `-${Math.max(...counts)}` : ''}`;
      console.log(
        `| ${kind} | ${frequency} | ${range} | ${s.short} | ${s.minLeadH.toFixed(0)} h | ${r.deleted.toLocaleString('en-US')} messages, ${r.exact ? 'yes' : 'NO'} | ${r.noticeMs.toFixed(0)} ms |`,
      );
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

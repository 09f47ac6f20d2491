#!/usr/bin/env node
// Cleanup throughput on PostgreSQL and SQLite, against a raw DELETE on identical data in the same run.
//   npm run build && node --expose-gc bench/cleanup.js [--messages 2000000] [--batch 5000] [--sweep 1000,2000,5000]
//                                   [--only pg|sqlite] [--layout chronological|shuffled]
// Data: 10,000 guardians, 20,000 children, 5 conversations each, `messages` messages spread evenly
// over the 60 days before the run, so about half are past the 30-day retention.
require('reflect-metadata');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { Client } = require('pg');
const { createDatabase } = require('./pg');
const Database = require('better-sqlite3');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const MESSAGES = Number(arg('messages', 2_000_000));
const BATCH = Number(arg('batch', 5000));
const SWEEP = arg('sweep', '').split(',').filter(Boolean).map(Number);
const ONLY = arg('only', '');
// chronological: rows stored in the order they were said, as live ingestion writes them (the
// usual case). shuffled: created_at unrelated to storage order, as after a large backdated import
// (the worst case for a delete that walks the created_at index).
const LAYOUT = arg('layout', 'chronological');
if (!['chronological', 'shuffled'].includes(LAYOUT)) throw new Error('--layout chronological|shuffled');
// Age in seconds (before the run) of message number i, as SQL.
const agePg = (i, n) => (LAYOUT === 'shuffled' ? `((${i}::bigint * 7919) % ${SPAN_S})` : `((${SPAN_S}::bigint * (${n} - ${i})) / ${n})`);
const ageSqlite = (i, n) => (LAYOUT === 'shuffled' ? `((${i} * 7919) % ${SPAN_S})` : `((${SPAN_S} * (${n} - ${i})) / ${n})`);
const perConversation = (n) => Math.max(1, Math.floor(n / CONVERSATIONS));
// Which conversation message i belongs to: consecutive runs (chronological) or spread round-robin (shuffled).
const conversationOf = (n) =>
  LAYOUT === 'shuffled' ? `((i - 1) % ${CONVERSATIONS} + 1)` : `(((i - 1) / ${perConversation(n)}) % ${CONVERSATIONS} + 1)`;
// --autovacuum off: keep autovacuum off the message table during measurements, to tell its share
// of a long batched run apart (a single DELETE transaction ends before autovacuum can start).
const AUTOVACUUM = arg('autovacuum', 'on');
const NAIVE = arg('naive', 'on');
const GUARDIANS = 10_000;
const CHILDREN = 20_000;
const CONVERSATIONS = CHILDREN * 5;
const RUN_AT = new Date('2026-11-29T00:00:00.000Z');
const CUTOFF = new Date(RUN_AT.getTime() - 30 * 86_400_000);
const SPAN_S = 60 * 86_400;
const DIST = resolve(__dirname, '../dist/src');

const { createApp } = require(`${DIST}/app.factory`);
const { validateEnv } = require(`${DIST}/config/env.validation`);
const { CleanupService } = require(`${DIST}/cleanup/cleanup.service`);
const { FixedClock } = require(`${DIST}/common/clock`);
const { dataSourceOptions } = require(`${DIST}/database/data-source`);
const { runMigrations } = require(`${DIST}/database/migrate`);
const { JobLedger } = require(`${DIST}/scheduler/ledger.service`);
const { leaseHeld } = require(`${DIST}/scheduler/ledger-sql`);
const { SchedulerJob } = require(`${DIST}/scheduler/job.entity`);
const { DataSource, LessThanOrEqual } = require('typeorm');
const { Message } = require(`${DIST}/records/message.entity`);

const fmt = (n) => n.toLocaleString('en-US');
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;

// ---------- seeding (set-based, no JS rows) ----------
async function seedPg(client, messages) {
  const at = RUN_AT.toISOString();
  await client.query(`TRUNCATE guardian, child, conversation, message, cleanup_report CASCADE`);
  await client.query(`INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at)
    SELECT md5('g' || i)::uuid, 'g' || i || '@example.com', 'G' || i, 'en', NULL, true, '${at}'::timestamptz - interval '90 days'
    FROM generate_series(1, ${GUARDIANS}) i`);
  await client.query(`INSERT INTO child (id, guardian_id, display_name, created_at)
    SELECT md5('c' || i)::uuid, md5('g' || ((i - 1) % ${GUARDIANS} + 1))::uuid, 'C' || i, '${at}'::timestamptz - interval '90 days'
    FROM generate_series(1, ${CHILDREN}) i`);
  // Chronological: each conversation holds consecutive messages and starts with its first one.
  const convStart =
    LAYOUT === 'shuffled'
      ? `interval '61 days'`
      : `${agePg('((j - 1) * ' + perConversation(messages) + ' + 1)', messages)} * interval '1 second'`;
  await client.query(`INSERT INTO conversation (id, child_id, started_at, created_at)
    SELECT md5('v' || j)::uuid, md5('c' || ((j - 1) % ${CHILDREN} + 1))::uuid, '${at}'::timestamptz - ${convStart}, '${at}'::timestamptz - ${convStart}
    FROM generate_series(1, ${CONVERSATIONS}) j`);
  await client.query(`INSERT INTO message (id, conversation_id, role, text, created_at)
    SELECT md5('m' || i)::uuid, md5('v' || ${conversationOf(messages)})::uuid,
           CASE WHEN i % 2 = 0 THEN 'child' ELSE 'teddy' END,
           'Teddy, tell me a story about a dragon who is afraid of the dark, number ' || i,
           '${at}'::timestamptz - ${agePg('i', messages)} * interval '1 second' - interval '1 millisecond'
    FROM generate_series(1, ${messages}) i`);
  await client.query(`ALTER TABLE message SET (autovacuum_enabled = ${AUTOVACUUM === 'off' ? 'false' : 'true'})`);
  await client.query('VACUUM ANALYZE');
  // Start every measured run from a quiet server: no checkpoint of the seed's writes in the middle of it.
  await client.query('CHECKPOINT');
  const [{ expired }] = (await client.query(`SELECT COUNT(*)::int AS expired FROM message WHERE created_at <= $1`, [CUTOFF])).rows;
  return expired;
}

function seedSqlite(file, messages) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const at = RUN_AT.getTime() / 1000;
  const ts = (expr) => `strftime('%Y-%m-%d %H:%M:%f', ${expr}, 'unixepoch')`;
  db.exec(`DELETE FROM message; DELETE FROM conversation; DELETE FROM child; DELETE FROM guardian; DELETE FROM cleanup_report;`);
  const uuid = (prefix, expr) => `printf('%08x-0000-4000-8000-%012x', ${prefix}, ${expr})`;
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${GUARDIANS})
    INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at)
    SELECT ${uuid(1, 'i')}, 'g' || i || '@example.com', 'G' || i, 'en', NULL, 1, ${ts(at - 90 * 86400)} FROM s`);
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${CHILDREN})
    INSERT INTO child (id, guardian_id, display_name, created_at)
    SELECT ${uuid(2, 'i')}, ${uuid(1, `(i - 1) % ${GUARDIANS} + 1`)}, 'C' || i, ${ts(at - 90 * 86400)} FROM s`);
  const convTs =
    LAYOUT === 'shuffled' ? ts(at - 61 * 86400) : ts(`${at} - ${ageSqlite(`((i - 1) * ${perConversation(messages)} + 1)`, messages)}`);
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${CONVERSATIONS})
    INSERT INTO conversation (id, child_id, started_at, created_at)
    SELECT ${uuid(3, 'i')}, ${uuid(2, `(i - 1) % ${CHILDREN} + 1`)}, ${convTs}, ${convTs} FROM s`);
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${messages})
    INSERT INTO message (id, conversation_id, role, text, created_at)
    SELECT ${uuid(4, 'i')}, ${uuid(3, conversationOf(messages))}, CASE WHEN i % 2 = 0 THEN 'child' ELSE 'teddy' END,
           'Teddy, tell me a story about a dragon who is afraid of the dark, number ' || i,
           ${ts(`${at} - ${ageSqlite('i', messages)} - 0.001`)} FROM s`);
  db.exec('ANALYZE');
  const cutoff = CUTOFF.toISOString().replace('T', ' ').replace('Z', '');
  const { expired } = db.prepare('SELECT COUNT(*) AS expired FROM message WHERE created_at <= ?').get(cutoff);
  db.close();
  return expired;
}

// ---------- the service, run in-process from the built code ----------
// fenced: as a scheduled run is, every batch carries the run's lease (a running job_run row), so
// the same data measured both ways gives the cost of fencing.
async function serviceRun(url, batch, fenced = false) {
  const env = validateEnv({
    DATABASE_URL: url,
    ADMIN_API_KEY: 'bench-operator-key-0000000001',
    // Set, so the development start does not generate one and print it into the figures.
    VIEWER_API_KEY: 'bench-viewer-key-00000000000002',
    LOG_LEVEL: 'warn',
    LOG_FILE: '',
    CLEANUP_BATCH_SIZE: String(batch),
  });
  const app = await createApp({ env, clock: new FixedClock(RUN_AT) });
  await app.init();
  const cleanup = app.get(CleanupService);
  let fence;
  if (fenced) {
    const job = await app.get(DataSource).getRepository(SchedulerJob).findOneByOrFail({ id: 'daily_data_cleanup' });
    const claim = await app
      .get(JobLedger)
      .claim({ job, scheduledFor: RUN_AT, trigger: 'manual', triggeredBy: 'bench', owner: 'bench', fire: false });
    const kind = url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
    fence = { signal: new AbortController().signal, condition: (p) => leaseHeld(kind, p, claim.run.id), check: async () => undefined };
  }
  if (global.gc) global.gc();
  const rssBefore = process.memoryUsage().rss;
  let rssMax = rssBefore;
  let lagMax = 0;
  let last = process.hrtime.bigint();
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    const now = process.hrtime.bigint();
    lagMax = Math.max(lagMax, Number(now - last) / 1e6 - 20);
    last = now;
  }, 20);
  const started = Date.now();
  let messagesDoneAt = started;
  const report = await cleanup.run({
    at: RUN_AT,
    trigger: 'manual',
    triggeredBy: 'bench',
    fence,
    afterBatch: (_k, r) => {
      if (r.conversationsDeleted === 0) messagesDoneAt = Date.now();
    },
  });
  const ms = Date.now() - started;
  const messagesMs = messagesDoneAt - started;
  clearInterval(sampler);
  await app.close();
  if (report.status !== 'succeeded') throw new Error(`cleanup ${report.status}: ${report.error}`);
  return { ms, messagesMs, report, rssGrowthMb: (rssMax - rssBefore) / 1024 / 1024, lagMax };
}

async function naive(url, rows) {
  // The code people usually write: load the expired rows as entities, then remove them (500 at a
  // time: TypeORM's remove() of 1000 entities exceeds SQLite's expression depth limit).
  const ds = await new DataSource(dataSourceOptions(url, 4)).initialize();
  const started = Date.now();
  let removed = 0;
  while (removed < rows) {
    const batch = await ds
      .getRepository(Message)
      .find({ where: { createdAt: LessThanOrEqual(CUTOFF) }, take: Math.min(500, rows - removed) });
    if (batch.length === 0) break;
    await ds.getRepository(Message).remove(batch);
    removed += batch.length;
  }
  const ms = Date.now() - started;
  await ds.destroy();
  return { ms, removed };
}

async function pgDatabase(name) {
  const db = await createDatabase(name);
  const ds = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  await runMigrations(ds);
  await ds.destroy();
  const client = new Client({ connectionString: db.url });
  await client.connect();
  return {
    url: db.url,
    client,
    drop: async () => {
      await client.end();
      await db.drop();
    },
  };
}

async function benchPg() {
  const db = await pgDatabase(`teddy_bench_cleanup_${process.pid}`);
  try {
    console.log(
      `\n## PostgreSQL: ${fmt(MESSAGES)} messages, ${fmt(GUARDIANS)} guardians, ${fmt(CHILDREN)} children, ${fmt(CONVERSATIONS)} conversations`,
    );
    for (const batch of SWEEP) {
      const expired = await seedPg(db.client, MESSAGES);
      const r = await serviceRun(db.url, batch);
      console.log(
        `sweep batch=${batch}: ${secs(r.ms)} for ${fmt(expired)} expired, max batch ${r.report.maxBatchMs} ms, ${r.report.batches} batches`,
      );
    }
    let t0 = Date.now();
    const expired = await seedPg(db.client, MESSAGES);
    console.log(`seeded in ${secs(Date.now() - t0)}; expired: ${fmt(expired)}`);
    t0 = Date.now();
    const raw = await db.client.query('DELETE FROM message WHERE created_at <= $1', [CUTOFF]);
    const rawMs = Date.now() - t0;
    console.log(`raw DELETE FROM message WHERE created_at <= cutoff: ${secs(rawMs)} (${fmt(raw.rowCount)} rows)`);
    t0 = Date.now();
    const rawConv = await db.client.query(
      'DELETE FROM conversation c WHERE c.started_at <= $1 AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id)',
      [CUTOFF],
    );
    const rawConvMs = Date.now() - t0;
    console.log(
      `raw DELETE of the conversations left empty: ${secs(rawConvMs)} (${fmt(rawConv.rowCount)} rows); both raw statements: ${secs(rawMs + rawConvMs)}`,
    );

    await seedPg(db.client, MESSAGES);
    const r = await serviceRun(db.url, BATCH);
    console.log(
      `teddy cleanup (batch ${BATCH}): ${secs(r.ms)}, ${fmt(r.report.messagesDeleted)} messages + ${fmt(r.report.conversationsDeleted)} conversations, ` +
        `${r.report.batches} batches, max batch ${r.report.maxBatchMs} ms, RSS growth ${r.rssGrowthMb.toFixed(1)} MB, max event-loop lag ${r.lagMax.toFixed(0)} ms`,
    );
    console.log(
      `  of which the message deletes: ${secs(r.messagesMs)}; the empty-conversation deletes and the report: ${secs(r.ms - r.messagesMs)}`,
    );
    console.log(
      `ratio message deletes / raw message DELETE: ${(r.messagesMs / rawMs).toFixed(2)}x (target <= 1.5x); whole run / both raw statements: ${(r.ms / (rawMs + rawConvMs)).toFixed(2)}x; ` +
        `whole run / raw message DELETE: ${(r.ms / rawMs).toFixed(2)}x (max batch target <= 250 ms; RSS target < 64 MB)`,
    );
    await seedPg(db.client, MESSAGES);
    const f = await serviceRun(db.url, BATCH, true);
    console.log(
      `fenced, as a scheduled run: ${secs(f.ms)}, message deletes ${secs(f.messagesMs)} (${(f.messagesMs / rawMs).toFixed(2)}x raw), ` +
        `whole run ${(f.ms / (rawMs + rawConvMs)).toFixed(2)}x both raw statements, max batch ${f.report.maxBatchMs} ms; ` +
        `fencing costs ${(((f.ms - r.ms) / r.report.batches) * 1000).toFixed(0)} us per batch (${(((f.ms - r.ms) / r.ms) * 100).toFixed(1)}% of the run)`,
    );

    if (NAIVE === 'off') return;
    await seedPg(db.client, MESSAGES);
    const n = await naive(db.url, 50_000);
    const ours = (r.ms / r.report.messagesDeleted) * n.removed;
    console.log(
      `naive TypeORM find-then-remove: ${fmt(n.removed)} rows in ${secs(n.ms)} (${fmt(Math.round(n.removed / (n.ms / 1000)))} rows/s); teddy at its rate: ${secs(ours)}; ratio naive / teddy: ${(n.ms / ours).toFixed(1)}x`,
    );
  } finally {
    await db.drop();
  }
}

async function benchSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'teddy-bench-cleanup-'));
  const file = join(dir, 'teddy.sqlite');
  const url = `sqlite:${file}`;
  try {
    const ds = await new DataSource(dataSourceOptions(url)).initialize();
    await runMigrations(ds);
    await ds.destroy();
    console.log(`\n## SQLite: ${fmt(MESSAGES)} messages, same shape`);
    for (const batch of SWEEP) {
      const expired = seedSqlite(file, MESSAGES);
      const r = await serviceRun(url, batch);
      console.log(
        `sweep batch=${batch}: ${secs(r.ms)} for ${fmt(expired)} expired (${fmt(Math.round(expired / (r.ms / 1000)))} msg/s), max batch ${r.report.maxBatchMs} ms`,
      );
    }
    let t0 = Date.now();
    const expired = seedSqlite(file, MESSAGES);
    console.log(`seeded in ${secs(Date.now() - t0)}; expired: ${fmt(expired)}`);
    const raw = new Database(file);
    t0 = Date.now();
    const info = raw.prepare('DELETE FROM message WHERE created_at <= ?').run(CUTOFF.toISOString().replace('T', ' ').replace('Z', ''));
    const rawMs = Date.now() - t0;
    raw.close();
    console.log(`raw DELETE: ${secs(rawMs)} (${fmt(info.changes)} rows, ${fmt(Math.round(info.changes / (rawMs / 1000)))} rows/s)`);
    seedSqlite(file, MESSAGES);
    const r = await serviceRun(url, BATCH);
    const rate = r.report.messagesDeleted / (r.ms / 1000);
    console.log(
      `teddy cleanup (batch ${BATCH}): ${secs(r.ms)}, ${fmt(r.report.messagesDeleted)} messages + ${fmt(r.report.conversationsDeleted)} conversations, ` +
        `${fmt(Math.round(rate))} messages/s (target >= 100,000), max batch ${r.report.maxBatchMs} ms, max event-loop lag ${r.lagMax.toFixed(0)} ms, RSS growth ${r.rssGrowthMb.toFixed(1)} MB`,
    );
    console.log(
      `  of which the message deletes: ${secs(r.messagesMs)} (${fmt(Math.round(r.report.messagesDeleted / (r.messagesMs / 1000)))} messages/s)`,
    );
    console.log(
      `ratio teddy (whole run) / raw DELETE: ${(r.ms / rawMs).toFixed(2)}x; message deletes / raw DELETE: ${(r.messagesMs / rawMs).toFixed(2)}x`,
    );
    seedSqlite(file, MESSAGES);
    const f = await serviceRun(url, BATCH, true);
    console.log(
      `fenced, as a scheduled run: ${secs(f.ms)}, ${fmt(Math.round(f.report.messagesDeleted / (f.ms / 1000)))} messages/s, ` +
        `${(f.ms / rawMs).toFixed(2)}x raw, max batch ${f.report.maxBatchMs} ms; ` +
        `fencing costs ${(((f.ms - r.ms) / r.report.batches) * 1000).toFixed(0)} us per batch (${(((f.ms - r.ms) / r.ms) * 100).toFixed(1)}% of the run)`,
    );
    if (NAIVE === 'off') return;
    seedSqlite(file, MESSAGES);
    const n = await naive(url, 50_000);
    const ours = (r.ms / r.report.messagesDeleted) * n.removed;
    console.log(
      `naive TypeORM find-then-remove: ${fmt(n.removed)} rows in ${secs(n.ms)}; ratio naive / teddy: ${(n.ms / ours).toFixed(1)}x`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// bench/cancel.js seeds the same data.
module.exports = { seedPg, seedSqlite, pgDatabase, RUN_AT, CUTOFF };

if (require.main === module) {
  (async () => {
    console.log(
      `node ${process.version}; run at ${RUN_AT.toISOString()}, cutoff ${CUTOFF.toISOString()}; layout ${LAYOUT}; autovacuum ${AUTOVACUUM}`,
    );
    if (ONLY !== 'sqlite') await benchPg();
    if (ONLY !== 'pg') await benchSqlite();
  })().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

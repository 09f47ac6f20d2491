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
const seed = require('./seed');
const { GUARDIANS, CHILDREN, CONVERSATIONS, checkLayout, cutoffOf, rawDeleteSqlite } = seed;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const MESSAGES = Number(arg('messages', 2_000_000));
const BATCH = Number(arg('batch', 5000));
const SWEEP = arg('sweep', '').split(',').filter(Boolean).map(Number);
const ONLY = arg('only', '');
// chronological (the usual case) or shuffled (the worst case): see bench/seed.js.
const LAYOUT = checkLayout(arg('layout', 'chronological'));
// --autovacuum off: keep autovacuum off the message table during measurements, to tell its share
// of a long batched run apart (a single DELETE transaction ends before autovacuum can start).
const AUTOVACUUM = arg('autovacuum', 'on');
const NAIVE = arg('naive', 'on');
const RUN_AT = new Date('2026-11-29T00:00:00.000Z');
const CUTOFF = cutoffOf(RUN_AT);
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

// ---------- seeding (bench/seed.js), as of RUN_AT in this script's layout ----------
const seedPg = (client, messages) => seed.seedPg(client, messages, { at: RUN_AT, layout: LAYOUT, autovacuum: AUTOVACUUM });
const seedSqlite = (file, messages) => seed.seedSqlite(file, messages, { at: RUN_AT, layout: LAYOUT });

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
    const { ms: rawMs, rows: rawRows } = rawDeleteSqlite(file, CUTOFF);
    console.log(`raw DELETE: ${secs(rawMs)} (${fmt(rawRows)} rows, ${fmt(Math.round(rawRows / (rawMs / 1000)))} rows/s)`);
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

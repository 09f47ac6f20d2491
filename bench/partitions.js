#!/usr/bin/env node
// PostgreSQL retention by partition: the cleanup on the day-partitioned message table (drop whole
// expired days, delete the rest in batches) against today's unpartitioned table, in the same run.
//   npm run build && node bench/partitions.js [--only cleanup,ingest,migration] [--messages 2000000[,8000000]]
//                                             [--layout chronological[,shuffled]] [--today ../wt-today] [--batch 5000]
//                                             [--clients 20] [--per-request 100] [--ingest-seconds 20] [--rounds 2]
//                                             [--migration-messages 2000000] [--at 2026-11-29T00:00:00Z]
// --today: a checkout of the commit before the partitioning (built: `npm run build` there), whose
// service is run on the unpartitioned table for the "today" figures; without it those are skipped.
//
// cleanup: data of bench/seed.js (10,000 guardians, 20,000 children, 100,000 conversations, the
// messages spread over the 60 days before --at, a UTC midnight, so the cutoff is a day boundary and
// half the messages are past it). Two databases per size and layout, same rows (seed.js is
// deterministic): "partitioned" (every migration; seed.js creates the seeded days' partitions), and
// "unpartitioned" (every migration, then the last one reverted: today's table with its foreign key;
// pg_dump -s of it equals a database migrated by the previous commit). The unpartitioned one is
// copied (CREATE DATABASE ... TEMPLATE, a file copy) before the raw statements, so today's service
// runs on a physically identical copy. Measured, each after CHECKPOINT:
//   raw: `DELETE FROM message WHERE created_at <= cutoff` (one statement), then the raw delete of the
//        conversations left empty, on the unpartitioned table;
//   ours: CleanupService.run({ at, trigger: 'cli', triggeredBy: 'bench' }) of this build (dist/),
//        in a child process, FixedClock at --at, CLEANUP_BATCH_SIZE --batch, on the partitioned table;
//   today: the same call of the --today build on the unpartitioned copy.
// Figures: wall time, WAL written (pg_wal_lsn_diff of pg_current_wal_lsn(), cluster-wide: run it on
// a quiet server), and message table + indexes bytes before and after (summed over the partitions).
// The service runs are split into phases by wrapping methods of the app's own instances
// (MessagePartitions.dropExpired, BatchDeleter.deleteMessageBatch / deleteConversationBatch), and the
// partition drops' and conversation batches' statements are timed by kind.
//
// ingest: batches of --per-request messages, --clients concurrent closed-loop clients, for
// --ingest-seconds per round, rounds in the order ours, today, today, ours (x --rounds / 2), after a
// warm-up of 3 s each. HTTP: the built service of each checkout (node <checkout>/dist/src/main.js,
// migrating its own fresh database, scheduler off, LOG_LEVEL=warn) and POST
// /v1/conversations/:id/messages into one of 1,000 conversations; without --today only the
// partitioned service runs. SQL: the same INSERT of --per-request rows through pg into the
// partitioned table (version-7 ids, as the service makes them) and the unpartitioned one (random ids,
// as today's service makes them), autocommit.
//
// migration: an unpartitioned database seeded with --migration-messages (chronological), then
// migration 1764806400000 run up (runMigrations) and reverted (undoLastMigration), each timed.
require('reflect-metadata');
const { fork, spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { createWriteStream, existsSync, mkdtempSync, rmSync } = require('node:fs');
const http = require('node:http');
const { createRequire } = require('node:module');
const { loadavg, tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { Client } = require('pg');
const { PG_ADMIN, adminQuery, createDatabase } = require('./pg');
const seed = require('./seed');
const { KEYS, freePort, serviceEnv } = require('./service');
const { checkLayout, cutoffOf } = seed;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ONLY = arg('only', 'cleanup,ingest,migration').split(',');
const SIZES = arg('messages', '2000000').split(',').map(Number);
const LAYOUTS = arg('layout', 'chronological').split(',').map(checkLayout);
const TODAY = arg('today', '') ? resolve(arg('today', '')) : '';
const BATCH = Number(arg('batch', 5000));
const CLIENTS = Number(arg('clients', 20));
const PER_REQUEST = Number(arg('per-request', 100));
const INGEST_S = Number(arg('ingest-seconds', 20));
const ROUNDS = Number(arg('rounds', 2));
const MIGRATION_MESSAGES = Number(arg('migration-messages', SIZES[0]));
const RUN_AT = new Date(arg('at', '2026-11-29T00:00:00.000Z'));
if (RUN_AT.getTime() % 86_400_000 !== 0) throw new Error('--at must be a UTC midnight (the cutoff is then a partition bound)');
const CUTOFF = cutoffOf(RUN_AT);
const OURS = resolve(__dirname, '..');
const TAG = `bench_part_${process.pid}`;

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(3)}x` : '-');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const summary = [];
/** A line of the closing table: what, figure, against what, target, met or missed. */
const verdict = (what, figure, baseline, target, met) => summary.push({ what, figure, baseline, target, met });

// ---------- the built code of a checkout, loaded in a process of its own ----------
function distRequire(root) {
  const r = createRequire(join(root, 'dist', 'src', 'main.js'));
  r('reflect-metadata');
  return r;
}

/** A database with every migration of `root`, then the last reverted if `unpartitioned`. */
async function migratedDatabase(name, { unpartitioned = false, root = OURS } = {}) {
  const db = await createDatabase(name);
  const r = distRequire(root);
  const { DataSource } = r('typeorm');
  const { dataSourceOptions } = r('./database/data-source');
  const { runMigrations } = r('./database/migrate');
  const { Logger } = r('@nestjs/common');
  Logger.overrideLogger(['error', 'warn']);
  const ds = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
  await runMigrations(ds, { log() {} });
  if (unpartitioned) await ds.undoLastMigration({ transaction: 'each' });
  await ds.destroy();
  return db;
}

async function connect(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A file copy of database `from` (which must have no connection) named `name`. */
async function copyDatabase(from, name) {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${from} STRATEGY FILE_COPY`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const lsn = async (client) => (await client.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
const walSince = async (client, from) =>
  Number((await client.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS b', [from])).rows[0].b);

/** Bytes of the message table and its indexes; for a partitioned table, summed over its partitions. */
async function messageBytes(client) {
  const { rows } = await client.query(`SELECT CASE WHEN (SELECT relkind FROM pg_class WHERE oid = 'message'::regclass) = 'p'
      THEN (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('message'))
      ELSE pg_total_relation_size('message') END::bigint AS b,
    (SELECT count(*) FROM pg_partition_tree('message') WHERE isleaf)::int AS partitions`);
  return { bytes: Number(rows[0].b), partitions: rows[0].partitions };
}

/** Other sessions doing something on the server: a measurement with company is flagged. */
async function company(client) {
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state NOT IN ('idle') AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  );
  const load = loadavg()[0].toFixed(2);
  return rows[0].n > 0 ? ` [${rows[0].n} other active session(s), load ${load}]` : ` [quiet server, load ${load}]`;
}

// ---------- the service's cleanup, in a child process (one build per process) ----------
async function childCleanup({ root, url, at, batch }) {
  const r = distRequire(root);
  const { createApp } = r('./app.factory');
  const { validateEnv } = r('./config/env.validation');
  const { CleanupService } = r('./cleanup/cleanup.service');
  const { BatchDeleter } = r('./cleanup/batch-deleter.service');
  const { FixedClock } = r('./common/clock');
  const partitionsModule = existsSync(join(root, 'dist', 'src', 'partitions', 'message-partitions.js'))
    ? r('./partitions/message-partitions')
    : undefined;
  const env = validateEnv({
    DATABASE_URL: url,
    ADMIN_API_KEY: 'bench-operator-key-0000000001',
    VIEWER_API_KEY: 'bench-viewer-key-00000000000002',
    LOG_LEVEL: 'warn',
    LOG_FILE: '',
    SCHEDULER_ENABLED: 'false',
    NOTICE_POLL_SECONDS: '0',
    CLEANUP_BATCH_SIZE: String(batch),
  });
  const app = await createApp({ env, clock: new FixedClock(new Date(at)) });
  await app.init();
  const probe = await connect(url);
  const marks = {};
  const mark = async (name) => {
    if (!marks[name]) marks[name] = { t: performance.now(), lsn: await lsn(probe) };
  };
  const statements = {};
  // q's statements, timed by kind; `before` runs ahead of a statement, outside its timing.
  const timed = (q, classify, before) => {
    const run = (method) => async (sql, params) => {
      if (before) await before(sql, params);
      const t = performance.now();
      try {
        return await q[method](sql, params);
      } finally {
        const s = (statements[classify(sql)] ??= { n: 0, ms: 0, max: 0 });
        const ms = performance.now() - t;
        s.n += 1;
        s.ms += ms;
        s.max = Math.max(s.max, ms);
      }
    };
    return { ...q, query: run('query'), affected: run('affected') };
  };
  // The plan PostgreSQL picks for the first conversation DELETE (EXPLAIN without ANALYZE, on the
  // probe connection, with the batch's own parameters): its joins and scans, costs left out.
  let conversationPlan;
  const explainFirstDelete = async (sql, params) => {
    if (conversationPlan || !/^DELETE/.test(sql.trim())) return;
    const rows = (await probe.query(`EXPLAIN ${sql}`, params)).rows.map((r) => r['QUERY PLAN']);
    // One line per kind of node: the partitions' scans differ only by name.
    const lines = rows
      .filter((l) => /Join|SubPlan|Nested Loop|Scan/.test(l) && !/Bitmap Index Scan/.test(l))
      .map((l) =>
        l
          .replace(/\s+\(cost=.*$/, '')
          .replace(/message_p\d{8}/g, 'message_p*')
          .replace(/ my_\d+$/, ' (each partition)')
          .replace('->', '')
          .trim(),
      );
    conversationPlan = [...new Set(lines)].slice(0, 6);
  };
  const deleter = app.get(BatchDeleter);
  if (partitionsModule) {
    const partitions = app.get(partitionsModule.MessagePartitions);
    const dropExpired = partitions.dropExpired.bind(partitions);
    partitions.dropExpired = async (...args) => {
      await mark('dropsStart');
      try {
        return await dropExpired(...args);
      } finally {
        await mark('dropsEnd');
      }
    };
    // detachAndCount since the days are dropped together (one DROP per 16), detachAndDrop before:
    // the DROP's own time is then what the partition phase spent outside these statements.
    const step = partitions.detachAndCount ? 'detachAndCount' : 'detachAndDrop';
    const detachAndDrop = partitions[step].bind(partitions);
    partitions[step] = (q, ...rest) =>
      detachAndDrop(
        timed(
          q,
          (sql) =>
            `partition: ${/FINALIZE/.test(sql) ? 'DETACH FINALIZE' : /^ALTER TABLE message DETACH/.test(sql) ? 'DETACH CONCURRENTLY' : /^SELECT count/.test(sql) ? 'count' : /^DROP/.test(sql) ? 'DROP TABLE' : /inhdetachpending/.test(sql) ? 'state' : sql.slice(0, 30)}`,
        ),
        ...rest,
      );
  }
  const deleteMessageBatch = deleter.deleteMessageBatch.bind(deleter);
  deleter.deleteMessageBatch = async (q, ...rest) => {
    await mark('messagesStart');
    return deleteMessageBatch(
      timed(q, (sql) => `message batch: ${/OFFSET/.test(sql) ? 'window SELECT' : /^DELETE/.test(sql) ? 'DELETE' : sql.slice(0, 30)}`),
      ...rest,
    );
  };
  const deleteConversationBatch = deleter.deleteConversationBatch.bind(deleter);
  deleter.deleteConversationBatch = async (q, ...rest) => {
    await mark('conversationsStart');
    return deleteConversationBatch(
      timed(
        q,
        (sql) => {
          const s = sql.trim();
          return `conversation batch: ${/^DELETE/.test(s) ? 'DELETE' : /FOR UPDATE/.test(s) ? 'SELECT ... FOR UPDATE' : /OFFSET/.test(s) ? 'window SELECT' : /^(BEGIN|COMMIT|ROLLBACK)/.test(s) ? 'BEGIN/COMMIT' : s.slice(0, 30)}`;
        },
        explainFirstDelete,
      ),
      ...rest,
    );
  };
  const cleanup = app.get(CleanupService);
  await mark('start');
  const report = await cleanup.run({ at: new Date(at), trigger: 'cli', triggeredBy: 'bench' });
  await mark('end');
  await app.close();
  await probe.end();
  if (report.status !== 'succeeded') throw new Error(`cleanup ${report.status}: ${report.error}`);
  const walBetween = async (a, b) => {
    const c = await connect(url);
    const n = Number((await c.query('SELECT pg_wal_lsn_diff($1, $2)::bigint AS b', [b, a])).rows[0].b);
    await c.end();
    return n;
  };
  // Phases, each from its mark to the next one present.
  const order = ['start', 'dropsStart', 'dropsEnd', 'messagesStart', 'conversationsStart', 'end'].filter((k) => marks[k]);
  const phases = [];
  for (let i = 0; i + 1 < order.length; i++) {
    const [a, b] = [marks[order[i]], marks[order[i + 1]]];
    phases.push({ from: order[i], to: order[i + 1], ms: b.t - a.t, wal: await walBetween(a.lsn, b.lsn) });
  }
  const parts = report.partitions ?? [];
  return {
    ms: marks.end.t - marks.start.t,
    wal: await walBetween(marks.start.lsn, marks.end.lsn),
    phases,
    statements,
    conversationPlan,
    report: {
      messagesDeleted: report.messagesDeleted,
      conversationsDeleted: report.conversationsDeleted,
      batches: report.batches,
      maxBatchMs: report.maxBatchMs,
      durationMs: report.durationMs,
      partitions: parts.length,
      partitionMs: parts.map((p) => p.ms),
      partitionMessages: parts.reduce((s, p) => s + p.messages, 0),
    },
  };
}

function runCleanup(root, url) {
  return new Promise((res, rej) => {
    const child = fork(__filename, ['--child', 'cleanup'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    child.on('message', (m) => (result = m));
    child.on('exit', (code) => {
      if (result?.error) rej(new Error(`${root}: ${result.error}`));
      else if (code !== 0 || !result) rej(new Error(`${root}: the cleanup child exited with ${code}`));
      else res(result.ok);
    });
    child.send({ root, url, at: RUN_AT.toISOString(), batch: BATCH });
  });
}

/** "drops 3.21 s (WAL 0.2 MB), ..." for a service run's phases. */
const PHASE_NAMES = {
  'start>dropsStart': 'plan + report',
  'start>messagesStart': 'plan + report',
  'dropsStart>dropsEnd': 'partition drops',
  'dropsEnd>messagesStart': 'batch runner',
  'dropsEnd>conversationsStart': 'boundary batches',
  'messagesStart>conversationsStart': 'message batches',
  'conversationsStart>end': 'conversation batches + report',
};
const phaseOf = (run, ...names) =>
  run.phases
    .filter((p) => names.includes(PHASE_NAMES[`${p.from}>${p.to}`] ?? ''))
    .reduce((s, p) => ({ ms: s.ms + p.ms, wal: s.wal + p.wal }), { ms: 0, wal: 0 });

function printRun(label, run) {
  console.log(
    `${label}: ${secs(run.ms)}, WAL ${mb(run.wal)}; ${fmt(run.report.messagesDeleted)} messages (${run.report.partitions} partitions holding ${fmt(run.report.partitionMessages)}) + ` +
      `${fmt(run.report.conversationsDeleted)} conversations, ${run.report.batches} batches, longest batch ${run.report.maxBatchMs} ms`,
  );
  for (const p of run.phases)
    console.log(`  ${(PHASE_NAMES[`${p.from}>${p.to}`] ?? `${p.from} -> ${p.to}`).padEnd(30)} ${secs(p.ms).padStart(9)}  WAL ${mb(p.wal)}`);
  if (run.report.partitionMs.length > 0) {
    const ms = [...run.report.partitionMs].sort((a, b) => a - b);
    console.log(
      `  per partition (report): median ${ms[Math.floor(ms.length / 2)]} ms, max ${ms[ms.length - 1]} ms, sum ${secs(ms.reduce((s, x) => s + x, 0))}`,
    );
  }
  if (run.conversationPlan) console.log(`  plan of the first conversation DELETE: ${run.conversationPlan.join(' / ')}`);
  for (const [k, s] of Object.entries(run.statements).sort())
    console.log(
      `  ${k.padEnd(44)} n ${String(s.n).padStart(5)}  total ${secs(s.ms).padStart(8)}  mean ${(s.ms / s.n).toFixed(1)} ms  max ${s.max.toFixed(0)} ms`,
    );
}

// ---------- cleanup ----------
async function rawDeletes(url) {
  const client = await connect(url);
  try {
    await client.query('CHECKPOINT');
    const quiet = await company(client);
    const before = await messageBytes(client);
    let from = await lsn(client);
    let t0 = performance.now();
    const rows = (await client.query('DELETE FROM message WHERE created_at <= $1', [CUTOFF])).rowCount;
    const ms = performance.now() - t0;
    const wal = await walSince(client, from);
    const after = await messageBytes(client);
    from = await lsn(client);
    t0 = performance.now();
    const conversations = (
      await client.query(
        'DELETE FROM conversation c WHERE c.started_at <= $1 AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id)',
        [CUTOFF],
      )
    ).rowCount;
    const convMs = performance.now() - t0;
    const convWal = await walSince(client, from);
    return { rows, ms, wal, before, after, conversations, convMs, convWal, quiet };
  } finally {
    await client.end();
  }
}

async function serviceCleanup(root, url) {
  const client = await connect(url);
  await client.query('CHECKPOINT');
  const quiet = await company(client);
  const before = await messageBytes(client);
  await client.end();
  const run = await runCleanup(root, url);
  const c2 = await connect(url);
  const after = await messageBytes(c2);
  await c2.end();
  return { ...run, before, after, quiet };
}

async function benchCleanup(messages, layout) {
  const name = `${TAG}_${messages}_${layout.slice(0, 5)}`;
  const dbs = [];
  try {
    console.log(
      `\n## cleanup: ${fmt(messages)} messages, layout ${layout}, run at ${RUN_AT.toISOString()}, cutoff ${CUTOFF.toISOString()}`,
    );
    const unpart = await migratedDatabase(`${name}_u`, { unpartitioned: true });
    dbs.push(unpart);
    const part = await migratedDatabase(`${name}_p`);
    dbs.push(part);
    let t0 = Date.now();
    let c = await connect(unpart.url);
    const expiredU = await seed.seedPg(c, messages, { at: RUN_AT, layout });
    await c.end();
    console.log(`seeded the unpartitioned table in ${secs(Date.now() - t0)}: ${fmt(expiredU)} of ${fmt(messages)} expired`);
    let today;
    if (TODAY) {
      t0 = Date.now();
      today = await copyDatabase(`${name}_u`, `${name}_t`);
      dbs.push(today);
      console.log(`copied it for today's service in ${secs(Date.now() - t0)}`);
    }
    t0 = Date.now();
    c = await connect(part.url);
    const expiredP = await seed.seedPg(c, messages, { at: RUN_AT, layout });
    const { partitions } = await messageBytes(c);
    await c.end();
    console.log(`seeded the partitioned table in ${secs(Date.now() - t0)}: ${fmt(expiredP)} expired, ${partitions} partitions`);
    if (expiredP !== expiredU) throw new Error(`the two seeds differ: ${expiredP} against ${expiredU} expired`);

    const raw = await rawDeletes(unpart.url);
    console.log(
      `raw DELETE FROM message WHERE created_at <= cutoff (unpartitioned): ${secs(raw.ms)}, WAL ${mb(raw.wal)}, ${fmt(raw.rows)} rows; ` +
        `size ${mb(raw.before.bytes)} -> ${mb(raw.after.bytes)} (${((raw.after.bytes / raw.before.bytes) * 100).toFixed(1)}%)${raw.quiet}`,
    );
    console.log(
      `raw DELETE of the conversations left empty (foreign key): ${secs(raw.convMs)}, WAL ${mb(raw.convWal)}, ${fmt(raw.conversations)} rows; both raw statements ${secs(raw.ms + raw.convMs)}`,
    );
    const ours = await serviceCleanup(OURS, part.url);
    printRun(`ours (partitioned)${ours.quiet}`, ours);
    const ourMessages = phaseOf(ours, 'plan + report', 'partition drops', 'boundary batches', 'batch runner', 'message batches');
    const ourConv = phaseOf(ours, 'conversation batches + report');
    const sizeShare = ours.after.bytes / ours.before.bytes;
    console.log(
      `  size ${mb(ours.before.bytes)} -> ${mb(ours.after.bytes)} (${(sizeShare * 100).toFixed(1)}%), partitions ${ours.before.partitions} -> ${ours.after.partitions}`,
    );
    console.log(
      `ours / raw DELETE: time ${ratio(ours.ms, raw.ms)} (message phase ${ratio(ourMessages.ms, raw.ms)}), WAL ${ratio(ours.wal, raw.wal)} (message phase ${ratio(ourMessages.wal, raw.wal)}); ` +
        `whole run / both raw statements ${ratio(ours.ms, raw.ms + raw.convMs)}`,
    );
    let todayRun;
    if (today) {
      todayRun = await serviceCleanup(TODAY, today.url);
      printRun(`today (${TODAY}, unpartitioned)${todayRun.quiet}`, todayRun);
      console.log(
        `  size ${mb(todayRun.before.bytes)} -> ${mb(todayRun.after.bytes)} (${((todayRun.after.bytes / todayRun.before.bytes) * 100).toFixed(1)}%)`,
      );
      const todayConv = phaseOf(todayRun, 'conversation batches + report');
      console.log(
        `ours / today: whole run ${ratio(ours.ms, todayRun.ms)}, message phase ${ratio(ourMessages.ms, todayRun.ms - todayConv.ms)}, conversation phase ${ratio(ourConv.ms, todayConv.ms)}; ` +
          `WAL ${ratio(ours.wal, todayRun.wal)}`,
      );
    }
    const tag = `${fmt(messages / 2)}/${fmt(messages)} ${layout}`;
    verdict(
      `${tag}: WAL, ours (message phase) / raw DELETE`,
      `${mb(ourMessages.wal)} / ${mb(raw.wal)}`,
      ratio(ourMessages.wal, raw.wal),
      '<= 0.050x',
      ourMessages.wal <= raw.wal / 20,
    );
    verdict(
      `${tag}: WAL, ours (whole run) / both raw statements`,
      `${mb(ours.wal)} / ${mb(raw.wal + raw.convWal)}`,
      ratio(ours.wal, raw.wal + raw.convWal),
      '(context)',
      undefined,
    );
    verdict(
      `${tag}: WAL, ours (whole run) / raw DELETE`,
      `${mb(ours.wal)} / ${mb(raw.wal)}`,
      ratio(ours.wal, raw.wal),
      '<= 0.050x',
      ours.wal <= raw.wal / 20,
    );
    verdict(
      `${tag}: time, ours (message phase) / raw DELETE`,
      `${secs(ourMessages.ms)} / ${secs(raw.ms)}`,
      ratio(ourMessages.ms, raw.ms),
      '<= 0.333x',
      ourMessages.ms <= raw.ms / 3,
    );
    verdict(
      `${tag}: time, ours (whole run) / raw DELETE`,
      `${secs(ours.ms)} / ${secs(raw.ms)}`,
      ratio(ours.ms, raw.ms),
      '<= 0.333x',
      ours.ms <= raw.ms / 3,
    );
    verdict(
      `${tag}: size after / before, ours`,
      `${mb(ours.after.bytes)} / ${mb(ours.before.bytes)}`,
      `${(sizeShare * 100).toFixed(1)}%`,
      '<= 55%',
      sizeShare <= 0.55,
    );
    verdict(
      `${tag}: size after / before, raw DELETE`,
      `${mb(raw.after.bytes)} / ${mb(raw.before.bytes)}`,
      `${((raw.after.bytes / raw.before.bytes) * 100).toFixed(1)}%`,
      '(baseline)',
      undefined,
    );
    if (todayRun) {
      const todayConv = phaseOf(todayRun, 'conversation batches + report');
      verdict(
        `${tag}: conversation phase, ours / today`,
        `${secs(ourConv.ms)} / ${secs(todayConv.ms)}`,
        ratio(ourConv.ms, todayConv.ms),
        '(no target)',
        undefined,
      );
      verdict(
        `${tag}: whole run, ours / today`,
        `${secs(ours.ms)} / ${secs(todayRun.ms)}`,
        ratio(ours.ms, todayRun.ms),
        '<= 1.000x',
        ours.ms <= todayRun.ms,
      );
    }
    return { messages, layout, raw, ours, ourMessages, ourConv, today: todayRun };
  } finally {
    for (const db of dbs) await db.drop().catch(() => undefined);
  }
}

// ---------- ingest ----------
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(port, path, body) {
  return new Promise((res) => {
    const payload = JSON.stringify(body);
    const t0 = performance.now();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent,
        headers: { 'X-API-Key': KEYS.ingest, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
      },
      (r) => {
        const chunks = [];
        r.on('data', (d) => chunks.push(d));
        r.on('end', () => res({ status: r.statusCode, ms: performance.now() - t0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', (e) => res({ status: `ERR ${e.code}`, ms: performance.now() - t0, body: e.message }));
    req.end(payload);
  });
}

async function startService(root, url, dir, label) {
  const port = await freePort();
  const env = serviceEnv(url, port);
  const out = createWriteStream(join(dir, `${label}.log`));
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${label} exited with ${child.exitCode} at start; see ${dir}/${label}.log`);
    const ok = await new Promise((r) =>
      http
        .get({ host: '127.0.0.1', port, path: '/health/ready' }, (res) => (res.resume(), r(res.statusCode === 200)))
        .on('error', () => r(false)),
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${label} not ready in 120 s`);
    await sleep(100);
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** 10 guardians, 100 children, 1,000 conversations started an hour ago; their ids. */
async function families(url) {
  const c = await connect(url);
  try {
    await c.query(`INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at)
      SELECT md5('g' || i)::uuid, 'g' || i || '@example.com', 'G' || i, 'en', NULL, true, now() FROM generate_series(1, 10) i`);
    await c.query(`INSERT INTO child (id, guardian_id, display_name, created_at)
      SELECT md5('c' || i)::uuid, md5('g' || ((i - 1) % 10 + 1))::uuid, 'C' || i, now() FROM generate_series(1, 100) i`);
    await c.query(`INSERT INTO conversation (id, child_id, started_at, created_at)
      SELECT md5('v' || j)::uuid, md5('c' || ((j - 1) % 100 + 1))::uuid, now() - interval '1 hour', now() - interval '1 hour' FROM generate_series(1, 1000) j`);
    return (await c.query('SELECT id FROM conversation ORDER BY id')).rows.map((r) => r.id);
  } finally {
    await c.end();
  }
}

/** `CLIENTS` closed loops of `once(client, n)` for `ms`: { requests, errors, ms, latencies }. */
async function closedLoop(ms, once) {
  const latencies = [];
  const errors = new Map();
  let stop = false;
  const t0 = performance.now();
  const loops = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let n = 0; !stop; n++) {
      const t = performance.now();
      const err = await once(c, n);
      if (stop) break;
      if (err) errors.set(err, (errors.get(err) ?? 0) + 1);
      else latencies.push(performance.now() - t);
    }
  });
  await sleep(ms);
  stop = true;
  const elapsed = performance.now() - t0;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    ms: elapsed,
    p50: latencies[Math.floor(latencies.length / 2)] ?? 0,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

const text = (c, n, i) => `Teddy, tell me a story about a dragon who is afraid of the dark, client ${c} request ${n} message ${i}`;

/** Rounds in the order A B B A ...: each side's messages/s, summed over its rounds. */
async function alternate(sides, once) {
  const order = [];
  for (let r = 0; r < ROUNDS; r++) order.push(...(r % 2 === 0 ? sides : [...sides].reverse()));
  const totals = new Map(sides.map((s) => [s.label, { requests: 0, ms: 0, errors: 0, p50: [], p99: [] }]));
  for (const side of order) {
    await closedLoop(3000, (c, n) => once(side, c, n)); // warm-up
    const r = await closedLoop(INGEST_S * 1000, (c, n) => once(side, c, n));
    const t = totals.get(side.label);
    t.requests += r.requests;
    t.ms += r.ms;
    t.errors += [...r.errors.values()].reduce((s, x) => s + x, 0);
    t.p50.push(r.p50);
    t.p99.push(r.p99);
    console.log(
      `  ${side.label.padEnd(14)} ${fmt((r.requests * PER_REQUEST) / (r.ms / 1000)).padStart(8)} messages/s  (${fmt(r.requests)} requests in ${secs(r.ms)}, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms` +
        `${r.errors.size ? `, errors: ${[...r.errors].map(([k, v]) => `${k} x ${v}`).join(', ')}` : ''})`,
    );
  }
  return totals;
}

async function benchIngest() {
  console.log(
    `\n## ingest: ${CLIENTS} clients, ${PER_REQUEST} messages per request, ${INGEST_S} s rounds x ${ROUNDS} per side (order A B B A)`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'teddy-bench-partitions-'));
  const dbs = [];
  const services = [];
  try {
    const sides = [{ label: 'partitioned', root: OURS }];
    if (TODAY) sides.push({ label: 'today', root: TODAY });
    for (const side of sides) {
      side.db = await createDatabase(`${TAG}_ingest_${side.label}`);
      dbs.push(side.db);
      side.service = await startService(side.root, side.db.url, dir, side.label);
      services.push(side.service);
      side.conversations = await families(side.db.url);
    }
    console.log('HTTP, POST /v1/conversations/:id/messages { messages: [...] }:');
    const httpTotals = await alternate(sides, async (side, c, n) => {
      const conv = side.conversations[(c * 7919 + n) % side.conversations.length];
      const messages = Array.from({ length: PER_REQUEST }, (_, i) => ({ role: i % 2 ? 'teddy' : 'child', text: text(c, n, i) }));
      const r = await post(side.service.port, `/v1/conversations/${conv}/messages`, { messages });
      return r.status === 201 ? undefined : `${r.status} ${r.body.slice(0, 120)}`;
    });
    for (const s of services) await s.stop();
    services.length = 0;

    // SQL: the same INSERT into both tables; the unpartitioned table is today's (migrated by the
    // previous commit when --today is given, else ours reverted).
    const sqlSides = [
      { label: 'partitioned', url: sides[0].db.url, conversations: sides[0].conversations },
      TODAY
        ? { label: 'unpartitioned', url: sides[1].db.url, conversations: sides[1].conversations }
        : await (async () => {
            const db = await migratedDatabase(`${TAG}_ingest_unpart`, { unpartitioned: true });
            dbs.push(db);
            return { label: 'unpartitioned', url: db.url, conversations: await families(db.url) };
          })(),
    ];
    const { messageId } = distRequire(OURS)('./records/message-id');
    const values = Array.from(
      { length: PER_REQUEST },
      (_, i) => `($${i * 5 + 1}, $${i * 5 + 2}, $${i * 5 + 3}, $${i * 5 + 4}, $${i * 5 + 5})`,
    ).join(', ');
    const sql = `INSERT INTO message (id, conversation_id, role, text, created_at) VALUES ${values}`;
    for (const side of sqlSides) side.clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(side.url)));
    console.log(
      `SQL, one INSERT of ${PER_REQUEST} rows per statement, autocommit (partitioned: version-7 ids; unpartitioned: random ids):`,
    );
    const sqlTotals = await alternate(sqlSides, async (side, c, n) => {
      const conv = side.conversations[(c * 7919 + n) % side.conversations.length];
      const now = new Date();
      const params = [];
      for (let i = 0; i < PER_REQUEST; i++)
        params.push(side.label === 'partitioned' ? messageId(now) : randomUUID(), conv, i % 2 ? 'teddy' : 'child', text(c, n, i), now);
      try {
        await side.clients[c].query(sql, params);
        return undefined;
      } catch (e) {
        return e.message.slice(0, 120);
      }
    });
    for (const side of sqlSides) await Promise.all(side.clients.map((c) => c.end()));

    const rate = (t) => (t.requests * PER_REQUEST) / (t.ms / 1000);
    const p = httpTotals.get('partitioned');
    console.log(`HTTP partitioned: ${fmt(rate(p))} messages/s${p.errors ? ` (${p.errors} errors)` : ''}`);
    if (TODAY) {
      const t = httpTotals.get('today');
      console.log(
        `HTTP today: ${fmt(rate(t))} messages/s${t.errors ? ` (${t.errors} errors)` : ''}; partitioned / today ${ratio(rate(p), rate(t))}`,
      );
      verdict(
        'ingest over HTTP, partitioned / today (messages/s)',
        `${fmt(rate(p))} / ${fmt(rate(t))}`,
        ratio(rate(p), rate(t)),
        '>= 0.900x',
        rate(p) >= 0.9 * rate(t),
      );
    }
    const sp = sqlTotals.get('partitioned');
    const su = sqlTotals.get('unpartitioned');
    console.log(
      `SQL partitioned ${fmt(rate(sp))} messages/s, unpartitioned ${fmt(rate(su))} messages/s; partitioned / unpartitioned ${ratio(rate(sp), rate(su))}`,
    );
    verdict(
      'ingest by SQL INSERT, partitioned / unpartitioned (messages/s)',
      `${fmt(rate(sp))} / ${fmt(rate(su))}`,
      ratio(rate(sp), rate(su)),
      '>= 0.900x',
      rate(sp) >= 0.9 * rate(su),
    );
  } finally {
    for (const s of services) await s.stop().catch(() => undefined);
    for (const db of dbs) await db.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- the conversion migration ----------
async function benchMigration() {
  const messages = MIGRATION_MESSAGES;
  console.log(`\n## conversion migration 1764806400000: ${fmt(messages)} messages (chronological), up then down`);
  const db = await migratedDatabase(`${TAG}_migration`, { unpartitioned: true });
  try {
    const c = await connect(db.url);
    let t0 = Date.now();
    await seed.seedPg(c, messages, { at: RUN_AT, layout: 'chronological' });
    console.log(`seeded the unpartitioned table in ${secs(Date.now() - t0)}; ${mb((await messageBytes(c)).bytes)}`);
    const r = distRequire(OURS);
    const { DataSource } = r('typeorm');
    const { dataSourceOptions } = r('./database/data-source');
    const { runMigrations } = r('./database/migrate');
    const ds = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    await c.query('CHECKPOINT');
    let from = await lsn(c);
    t0 = performance.now();
    await runMigrations(ds, { log() {} });
    const upMs = performance.now() - t0;
    const upWal = await walSince(c, from);
    const after = await messageBytes(c);
    const [{ n }] = (await c.query('SELECT count(*)::int AS n FROM message')).rows;
    console.log(
      `up: ${secs(upMs)}, WAL ${mb(upWal)}; ${fmt(n)} rows in ${after.partitions} partitions, ${mb(after.bytes)}; ${((upMs / 1000) * (1e6 / messages)).toFixed(2)} s per million rows`,
    );
    await c.query('CHECKPOINT');
    from = await lsn(c);
    t0 = performance.now();
    await ds.undoLastMigration({ transaction: 'each' });
    const downMs = performance.now() - t0;
    const downWal = await walSince(c, from);
    const [{ m }] = (await c.query('SELECT count(*)::int AS m FROM message')).rows;
    console.log(
      `down: ${secs(downMs)}, WAL ${mb(downWal)}; ${fmt(m)} rows, ${mb((await messageBytes(c)).bytes)}; ${((downMs / 1000) * (1e6 / messages)).toFixed(2)} s per million rows`,
    );
    await ds.destroy();
    await c.end();
    verdict(
      `conversion up, ${fmt(messages)} rows`,
      `${secs(upMs)}, WAL ${mb(upWal)}`,
      `${((upMs / 1000) * (1e6 / messages)).toFixed(2)} s per million rows`,
      '(quoted)',
      undefined,
    );
    verdict(
      `conversion down, ${fmt(messages)} rows`,
      `${secs(downMs)}, WAL ${mb(downWal)}`,
      `${((downMs / 1000) * (1e6 / messages)).toFixed(2)} s per million rows`,
      '(quoted)',
      undefined,
    );
  } finally {
    await db.drop();
  }
}

async function main() {
  console.log(
    `node ${process.version}; ${(await adminQuery('SHOW server_version')).rows[0].server_version}; only ${ONLY.join(',')}; today ${TODAY || '(none)'}; batch ${BATCH}; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  const runs = [];
  if (ONLY.includes('cleanup')) for (const n of SIZES) for (const layout of LAYOUTS) runs.push(await benchCleanup(n, layout));
  // Scale: our time at each size against our own at the smallest, and the raw DELETE's.
  const chrono = runs.filter((r) => r.layout === 'chronological');
  for (const r of chrono.slice(1)) {
    const base = chrono[0];
    verdict(
      `scale ${fmt(base.messages / 2)} -> ${fmt(r.messages / 2)} expired: ours (whole run)`,
      `${secs(r.ours.ms)} / ${secs(base.ours.ms)}`,
      ratio(r.ours.ms, base.ours.ms),
      '<= 1.500x',
      r.ours.ms <= 1.5 * base.ours.ms,
    );
    verdict(
      `scale: ours (message phase: partition drops)`,
      `${secs(r.ourMessages.ms)} / ${secs(base.ourMessages.ms)}`,
      ratio(r.ourMessages.ms, base.ourMessages.ms),
      '<= 1.500x',
      r.ourMessages.ms <= 1.5 * base.ourMessages.ms,
    );
    verdict(`scale: raw DELETE`, `${secs(r.raw.ms)} / ${secs(base.raw.ms)}`, ratio(r.raw.ms, base.raw.ms), '(grows)', undefined);
  }
  // Layout: the shuffled run against the chronological one of the same size.
  for (const s of runs.filter((r) => r.layout === 'shuffled')) {
    const c = runs.find((r) => r.layout === 'chronological' && r.messages === s.messages);
    if (!c) continue;
    verdict(
      `shuffled / chronological, ${fmt(s.messages)}: ours (whole run)`,
      `${secs(s.ours.ms)} / ${secs(c.ours.ms)}`,
      ratio(s.ours.ms, c.ours.ms),
      '<= 1.000x',
      s.ours.ms <= c.ours.ms,
    );
    verdict(
      `shuffled / chronological, ${fmt(s.messages)}: ours (message phase)`,
      `${secs(s.ourMessages.ms)} / ${secs(c.ourMessages.ms)}`,
      ratio(s.ourMessages.ms, c.ourMessages.ms),
      '<= 1.000x',
      s.ourMessages.ms <= c.ourMessages.ms,
    );
  }
  if (ONLY.includes('ingest')) await benchIngest();
  if (ONLY.includes('migration')) await benchMigration();

  console.log('\n| what | figure | ratio | target | |\n|---|---|---|---|---|');
  for (const s of summary)
    console.log(`| ${s.what} | ${s.figure} | ${s.baseline} | ${s.target} | ${s.met === undefined ? '' : s.met ? 'met' : 'MISSED'} |`);
}

if (process.argv.includes('--child')) {
  process.once('message', (m) =>
    childCleanup(m)
      .then((ok) => process.send({ ok }, () => process.exit(0)))
      .catch((e) => process.send({ error: e.stack ?? String(e) }, () => process.exit(1))),
  );
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

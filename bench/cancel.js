#!/usr/bin/env node
// Cancel latency: from POST /admin/scheduler/runs/:runId/cancel to the run's end (its task stopped,
// its report and ledger row final), on PostgreSQL and SQLite, against the time of one raw batch
// DELETE measured on the same data in the same run (a cancel takes effect at the fence of the next
// batch, or at the watch a second later, so one batch is the floor).
//   npm run build && node bench/cancel.js [--rounds 30] [--messages 1000000] [--batch 5000] [--only pg|sqlite]
// The service runs in this process with its timers (heartbeat, watch) and listens on a free port; each
// round starts a cleanup with ?wait=false, waits until it has committed two batches, cancels it over
// HTTP, and times the answer and the end. The raw batches run first, on the oldest rows. Also: what a
// scheduled cleanup's progress total costs (the COUNT it runs at its start) against a raw COUNT.
require('reflect-metadata');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { DataSource } = require('typeorm');
const Database = require('better-sqlite3');
const { seedPg, seedSqlite, pgDatabase, RUN_AT, CUTOFF } = require('./cleanup');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ROUNDS = Number(arg('rounds', 30));
const MESSAGES = Number(arg('messages', 2_000_000));
const BATCH = Number(arg('batch', 5000));
const ONLY = arg('only', '');
const DIST = resolve(__dirname, '../dist/src');
const { createApp } = require(`${DIST}/app.factory`);
const { validateEnv } = require(`${DIST}/config/env.validation`);
const { RunExecutor } = require(`${DIST}/scheduler/run-executor`);
const { CleanupService } = require(`${DIST}/cleanup/cleanup.service`);
const { dataSourceOptions } = require(`${DIST}/database/data-source`);
const { runMigrations } = require(`${DIST}/database/migrate`);

const ADMIN_KEY = 'bench-operator-key-0000000001';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] };
};
const ms = (n) => `${n.toFixed(1)} ms`;

/** The service as this bench runs it, on `url`. */
const benchEnv = (url) =>
  validateEnv({
    DATABASE_URL: url,
    ADMIN_API_KEY: ADMIN_KEY,
    VIEWER_API_KEY: 'bench-viewer-key-00000000000002',
    LOG_LEVEL: 'error',
    LOG_FILE: '',
    LOG_HTTP_REQUESTS: 'false',
    CLEANUP_BATCH_SIZE: String(BATCH),
    // The built-in cleanup must not fire during the rounds.
    CLEANUP_CRON: '0 0 1 1 *',
  });

async function service(url) {
  const env = benchEnv(url);
  const app = await createApp({ env });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const call = async (method, path, body) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { 'X-API-Key': ADMIN_KEY, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  return { app, call };
}

/** Rounds of: start a cleanup, let it commit two batches, cancel it, time the answer and the end. */
async function rounds(url) {
  const { app, call } = await service(url);
  const executor = app.get(RunExecutor);
  const answers = [];
  const ends = [];
  let deletedBefore = 0;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const started = await call('POST', '/admin/scheduler/cleanup/trigger?wait=false', { at: RUN_AT.toISOString() });
      if (started.status !== 202) throw new Error(`trigger answered ${started.status}: ${JSON.stringify(started.body)}`);
      const id = started.body.run.id;
      const deadline = Date.now() + 30_000;
      while ((executor.progressOf(id)?.done ?? 0) < 2 * BATCH) {
        if (Date.now() > deadline) throw new Error('the run did not commit two batches within 30 s');
        await sleep(1);
      }
      const done = executor.idle();
      const t0 = process.hrtime.bigint();
      const cancel = await call('POST', `/admin/scheduler/runs/${id}/cancel`);
      const t1 = process.hrtime.bigint();
      await done;
      const t2 = process.hrtime.bigint();
      if (cancel.status !== 202 || cancel.body.status !== 'cancelled')
        throw new Error(`cancel answered ${cancel.status}: ${JSON.stringify(cancel.body)}`);
      const run = (await call('GET', `/admin/scheduler/runs/${id}`)).body;
      if (run.status !== 'cancelled' || !run.summary) throw new Error(`run ended ${run.status} without its summary`);
      deletedBefore += run.summary.messagesDeleted;
      answers.push(Number(t1 - t0) / 1e6);
      ends.push(Number(t2 - t0) / 1e6);
    }
  } finally {
    await app.close();
  }
  return { answer: summary(answers), end: summary(ends), deleted: deletedBefore };
}

/** The floor: one batch of the deleter's size, deleted by a raw statement, timed over `n` batches. */
async function rawBatches(deleteBatch, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await deleteBatch();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summary(times);
}

/** What the progress total costs at the start of a scheduled cleanup: the service's count, and a raw COUNT. */
async function countCost(url, rawCount) {
  const env = benchEnv(url);
  const app = await createApp({ env, schedulerTimers: false });
  await app.init();
  try {
    const cleanup = app.get(CleanupService);
    const plan = await cleanup.plan(RUN_AT);
    let t0 = Date.now();
    const counted = { messages: await cleanup.countMessages(plan) };
    const serviceMs = Date.now() - t0;
    t0 = Date.now();
    const raw = await rawCount();
    return { serviceMs, rawMs: Date.now() - t0, messages: counted.messages, raw };
  } finally {
    await app.close();
  }
}

function print(name, r, raw, count) {
  console.log(
    `\n## ${name}: ${ROUNDS} cancels of a running cleanup (batches of ${BATCH}, ${MESSAGES.toLocaleString('en-US')} messages seeded)`,
  );
  console.log(
    `cancel answered (202, run cancelled in the ledger): p50 ${ms(r.answer.p50)}, p99 ${ms(r.answer.p99)}, max ${ms(r.answer.max)}`,
  );
  console.log(`request to run ended (task stopped, report final): p50 ${ms(r.end.p50)}, p99 ${ms(r.end.p99)}, max ${ms(r.end.max)}`);
  console.log(`baseline, one raw batch DELETE of ${BATCH}: p50 ${ms(raw.p50)}, p99 ${ms(raw.p99)}`);
  console.log(
    `ratio request-to-end p50 / raw batch p50: ${(r.end.p50 / raw.p50).toFixed(2)}x; p99 / raw batch p99: ${(r.end.p99 / raw.p99).toFixed(2)}x`,
  );
  console.log(
    `progress total (the COUNT a scheduled cleanup runs first): ${count.serviceMs} ms for ${count.messages.toLocaleString('en-US')} messages; raw COUNT ${count.rawMs} ms (${count.raw.toLocaleString('en-US')})`,
  );
}

async function benchPg() {
  const db = await pgDatabase(`teddy_bench_cancel_${process.pid}`);
  try {
    await seedPg(db.client, MESSAGES);
    const count = await countCost(db.url, async () =>
      Number((await db.client.query('SELECT COUNT(*) AS n FROM message WHERE created_at <= $1', [CUTOFF])).rows[0].n),
    );
    const raw = await rawBatches(
      () =>
        db.client.query(
          `DELETE FROM message WHERE id IN (SELECT id FROM message WHERE created_at <= $1 ORDER BY created_at LIMIT ${BATCH})`,
          [CUTOFF],
        ),
      ROUNDS,
    );
    // The baseline went first, on the oldest rows; the rounds delete the next ones.
    const r = await rounds(db.url);
    print('PostgreSQL', r, raw, count);
  } finally {
    await db.drop();
  }
}

async function benchSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'teddy-bench-cancel-'));
  const file = join(dir, 'teddy.sqlite');
  const url = `sqlite:${file}`;
  try {
    const ds = await new DataSource(dataSourceOptions(url)).initialize();
    await runMigrations(ds);
    await ds.destroy();
    seedSqlite(file, MESSAGES);
    const cutoff = CUTOFF.toISOString().replace('T', ' ').replace('Z', '');
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    const count = await countCost(url, async () => raw.prepare('SELECT COUNT(*) AS n FROM message WHERE created_at <= ?').get(cutoff).n);
    const del = raw.prepare(
      `DELETE FROM message WHERE id IN (SELECT id FROM message WHERE created_at <= ? ORDER BY created_at LIMIT ${BATCH})`,
    );
    const rawStats = await rawBatches(async () => del.run(cutoff), ROUNDS);
    raw.close();
    const r = await rounds(url);
    print('SQLite', r, rawStats, count);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  console.log(`node ${process.version}; cancel latency; run at ${RUN_AT.toISOString()}`);
  if (ONLY !== 'sqlite') await benchPg();
  if (ONLY !== 'pg') await benchSqlite();
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});

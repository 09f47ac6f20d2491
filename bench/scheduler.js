#!/usr/bin/env node
// The scheduler: fire -> start lag (1 and 3 replicas on one PostgreSQL database, 1 on SQLite), runs
// per fire, and the throughput of GET /admin/scheduler/status against a bare Nest route.
//   npm run build && node bench/scheduler.js [--fires 60] [--duration 10] [--rounds 3] [--only pg|sqlite]
//   (also --warmup 2, --connections 10, --skip lag|http)
//
// Lag: the built service (dist/src/main.js) is spawned with SCHEDULER_SYNC_SECONDS=1, both built-in
// jobs are paused, and a job running the cleanup task (milliseconds on an empty database) on
// "* * * * * *" without coalescing is added. Once every replica has had time to pick it up, N
// consecutive fires are measured, then the job is paused and the run ledger (job_run) read:
// started_at - scheduled_for per run, runs per fire (duplicates and gaps), statuses, owners. The
// baseline runs in the same seconds: a plain node process whose setTimeout aims at each whole second.
//
// Throughput: autocannon (in this process) against GET /admin/scheduler/status with the viewer key,
// after a warm-up, and against the bare Nest route of bench/bare-nest.js in the same run, in
// interleaved rounds (see throughputAll).
//
// PostgreSQL is measured when TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
// answers; each setup gets a fresh database, dropped at the end, also on failure or Ctrl-C.
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { cpus } = require('node:os');
const { join, resolve } = require('node:path');
const { Client } = require('pg');
const { PG_ADMIN, adminQuery, pgAvailable } = require('./pg');
const { KEYS } = require('./service');
const {
  option,
  runOptions,
  sleep,
  track,
  stop,
  cleanupAll,
  scratchDatabase,
  expectOk,
  startServer,
  cannon,
  interleavedRound,
  int,
  loadNow,
} = require('./harness');

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const FIRES = Number(option('fires', 60));
const { DURATION, WARMUP, CONNECTIONS, ROUNDS, ONLY } = runOptions({ duration: 10, warmup: 2 });
const SKIP = option('skip', undefined); // lag | http: for a partial re-run
if (SKIP && !['lag', 'http'].includes(SKIP)) throw new Error('--skip must be lag or http');
if (!(FIRES >= 5)) throw new Error('--fires must be at least 5');

const ROOT = resolve(__dirname, '..');
const MAIN = join(ROOT, 'dist/src/main.js');
const BARE = join(__dirname, 'bare-nest.js');
const JOB_ID = 'bench_every_second';
const SYNC_SECONDS = 1;

const freshPg = (label) => scratchDatabase(`teddy_bench_sched_${process.pid}_${label}`);
// Each server in a temp dir of its own (SQLite's ./data/teddy.sqlite in it); its log messages with
// times and UUIDs blanked, so that repeats count as one, and kept to 240 characters (bench/api.js: 200).
const launch = (script, env) =>
  startServer(script, env, {
    tempPrefix: 'teddy-bench-sched-',
    logMessage: (msg) =>
      msg
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<t>')
        .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<uuid>')
        .slice(0, 240),
  });

// The service's environment: only PATH and HOST besides (bench/harness.js startServer), the scheduler on, syncing every second.
function serviceEnv(databaseUrl, extra = {}) {
  return {
    DATABASE_URL: databaseUrl,
    ADMIN_API_KEY: KEYS.operator,
    VIEWER_API_KEY: KEYS.viewer,
    LOG_FILE: '',
    LOG_LEVEL: 'warn',
    SCHEDULER_SYNC_SECONDS: String(SYNC_SECONDS),
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

function pct(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 0.5), p99: pct(s, 0.99), max: s[s.length - 1], min: s[0] };
}
const ms = (v, digits = 0) => (Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'n/a');

// ---------------------------------------------------------------------------------------------
// 1. Fire -> start lag
// ---------------------------------------------------------------------------------------------

/** The baseline: a plain node process whose setTimeout aims at each of the N whole seconds from t0. */
function timerBaseline(t0, n) {
  const code = `
    const [t0, n] = process.argv.slice(1).map(Number);
    // Date.now(), as the scheduler stamps its runs (performance.timeOrigin can be off by milliseconds).
    const now = () => Date.now();
    const lags = [];
    let i = 0;
    const arm = () => {
      const target = t0 + i * 1000;
      setTimeout(() => {
        lags.push(now() - target);
        if (++i < n) arm();
        else process.stdout.write(JSON.stringify(lags));
      }, Math.max(0, target - Date.now()));
    };
    arm();`;
  const child = track(spawn(process.execPath, ['-e', code, String(t0), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((done, fail) =>
    child.once('exit', (code) => {
      if (code !== 0) return fail(new Error(`timer baseline exited with ${code}`));
      done(JSON.parse(out));
    }),
  );
}

/** The job's runs from the ledger, with the time the cleanup task opened its report. */
async function readRunsPg(url) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT r.scheduled_for, r.status, r.owner, r.attempt, r.trigger, r.duration_ms,
              EXTRACT(EPOCH FROM (r.started_at - r.scheduled_for)) * 1000 AS lag_ms,
              EXTRACT(EPOCH FROM (cr.started_at - r.scheduled_for)) * 1000 AS task_lag_ms
         FROM job_run r LEFT JOIN cleanup_report cr ON cr.id::text = (r.summary::json ->> 'reportId')
        WHERE r.job_id = $1 ORDER BY r.scheduled_for, r.attempt`,
      [JOB_ID],
    );
    return rows.map((r) => ({
      scheduledFor: r.scheduled_for.getTime(),
      status: r.status,
      owner: r.owner,
      attempt: r.attempt,
      trigger: r.trigger,
      durationMs: r.duration_ms,
      lagMs: Number(r.lag_ms),
      taskLagMs: r.task_lag_ms === null ? NaN : Number(r.task_lag_ms),
    }));
  } finally {
    await c.end();
  }
}

function readRunsSqlite(file) {
  const Database = require('better-sqlite3');
  const db = new Database(file, { fileMustExist: true });
  const t = (v) => (v === null ? NaN : new Date(`${v.replace(' ', 'T')}Z`).getTime());
  try {
    const rows = db
      .prepare(
        `SELECT r.scheduled_for, r.started_at, r.status, r.owner, r.attempt, r."trigger", r.duration_ms, cr.started_at AS task_started_at
           FROM job_run r LEFT JOIN cleanup_report cr ON cr.id = json_extract(r.summary, '$.reportId')
          WHERE r.job_id = ? ORDER BY r.scheduled_for, r.attempt`,
      )
      .all(JOB_ID);
    return rows.map((r) => ({
      scheduledFor: t(r.scheduled_for),
      status: r.status,
      owner: r.owner,
      attempt: r.attempt,
      trigger: r.trigger,
      durationMs: r.duration_ms,
      lagMs: t(r.started_at) - t(r.scheduled_for),
      taskLagMs: t(r.task_started_at) - t(r.scheduled_for),
    }));
  } finally {
    db.close();
  }
}

/** Runs per fire over [from, to] (whole seconds): fires with no run (gaps), fires with more than one (duplicates). */
function perFire(runs, from, to) {
  const byFire = new Map();
  for (const r of runs)
    if (r.scheduledFor >= from && r.scheduledFor <= to) byFire.set(r.scheduledFor, (byFire.get(r.scheduledFor) ?? 0) + 1);
  let gaps = 0;
  let duplicates = 0;
  const gapAt = [];
  for (let t = from; t <= to; t += 1000) {
    const n = byFire.get(t) ?? 0;
    if (n === 0) {
      gaps += 1;
      if (gapAt.length < 5) gapAt.push(new Date(t).toISOString());
    }
    if (n > 1) duplicates += n - 1;
  }
  return { fires: (to - from) / 1000 + 1, gaps, duplicates, gapAt };
}

async function lagScenario(label, kind, replicas) {
  console.error(`-- lag: ${label}`);
  let pg;
  let sqliteFile;
  const servers = [];
  try {
    let url;
    if (kind === 'pg') {
      pg = await freshPg(`lag${replicas}`);
      url = pg.url;
    } else {
      url = 'sqlite:./data/teddy.sqlite';
    }
    // The first replica migrates the fresh database; the others start once it is done.
    servers.push(await launch(MAIN, serviceEnv(url)));
    servers.push(...(await Promise.all(Array.from({ length: replicas - 1 }, () => launch(MAIN, serviceEnv(url))))));
    if (kind === 'sqlite') sqliteFile = join(servers[0].cwd, 'data/teddy.sqlite');
    const api = servers[0].port;
    for (const id of ['daily_data_cleanup', 'cleanup_notifications']) {
      await expectOk(api, 'PATCH', `/admin/scheduler/jobs/${id}`, { key: KEYS.operator, body: { paused: true } });
    }
    await expectOk(api, 'POST', '/admin/scheduler/jobs', {
      key: KEYS.operator,
      body: { id: JOB_ID, name: 'bench', task: 'cleanup', cron: '* * * * * *', coalesce: false },
    });
    const createdAt = Date.now();
    // Every replica re-reads the jobs each SCHEDULER_SYNC_SECONDS: measure from 3 syncs later.
    const t0 = Math.ceil((createdAt + 3000 * SYNC_SECONDS) / 1000) * 1000;
    const tEnd = t0 + (FIRES - 1) * 1000;
    const baseline = timerBaseline(t0, FIRES);
    baseline.catch(() => undefined); // awaited below; an interrupt must not make it an unhandled rejection
    await sleep(tEnd + 700 - Date.now());
    await expectOk(api, 'PATCH', `/admin/scheduler/jobs/${JOB_ID}`, { key: KEYS.operator, body: { paused: true } });
    const pausedAt = Date.now();
    const timer = summary(await baseline);
    // The other replicas apply the pause at their next sync; let them, and the last runs finish.
    await sleep(2500 + 1000 * SYNC_SECONDS);
    const status = await expectOk(api, 'GET', '/admin/scheduler/status', { key: KEYS.viewer });
    const statusOk = status.jobs.find((j) => j.id === JOB_ID)?.paused === true;

    let runs;
    if (kind === 'pg') runs = await readRunsPg(pg.url);
    else {
      await Promise.all(servers.map((s) => stop(s.child)));
      runs = readRunsSqlite(sqliteFile);
    }
    const inWindow = runs.filter((r) => r.scheduledFor >= t0 && r.scheduledFor <= tEnd);
    const window = perFire(runs, t0, tEnd);
    const scheduledRuns = runs.filter((r) => r.trigger === 'scheduled' || r.trigger === 'catch-up');
    const first = Math.min(...scheduledRuns.map((r) => r.scheduledFor));
    const lastBeforePause = Math.floor(pausedAt / 1000) * 1000 - 1000;
    const whole = perFire(runs, first, Math.min(lastBeforePause, Math.max(...scheduledRuns.map((r) => r.scheduledFor))));
    const afterPause = runs.filter((r) => r.scheduledFor >= Math.ceil(pausedAt / 1000) * 1000).length;
    const statuses = {};
    for (const r of inWindow) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const owners = {};
    const ownerIndex = new Map();
    for (const r of inWindow) {
      if (!ownerIndex.has(r.owner)) ownerIndex.set(r.owner, ownerIndex.size);
      owners[r.owner] = (owners[r.owner] ?? 0) + 1;
    }
    const problems = servers.flatMap((s, i) => s.problems().map((p) => `replica ${i}: ${p}`));
    return {
      label,
      replicas,
      runs: inWindow.length,
      window,
      whole,
      afterPause,
      statuses,
      owners: Object.values(owners).sort((a, b) => b - a),
      lag: summary(inWindow.map((r) => r.lagMs)),
      taskLag: summary(inWindow.map((r) => r.taskLagMs).filter(Number.isFinite)),
      duration: summary(inWindow.map((r) => r.durationMs).filter((v) => v !== null)),
      timer,
      statusOk,
      problems,
      triggers: [...new Set(inWindow.map((r) => r.trigger))],
      attempts: Math.max(...inWindow.map((r) => r.attempt)),
    };
  } finally {
    await Promise.allSettled(servers.map((s) => stop(s.child)));
    if (pg) await pg.drop().catch((e) => console.error(`drop: ${e.message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Status throughput
// ---------------------------------------------------------------------------------------------

/** One measurement: autocannon in this process against `path` on `server` (see cannon in bench/harness.js). */
const measure = (server, path, headers) =>
  cannon(
    server,
    { url: `http://127.0.0.1:${server.port}${path}`, headers, connections: CONNECTIONS },
    { warmup: WARMUP, duration: DURATION },
  );

/**
 * The HTTP targets, all started at once (idle, each costs a sync query a second), then measured in
 * ROUNDS interleaved rounds: the other sessions sharing the machine come and go, so each round
 * measures the bare route at its start and end and compares its targets with the mean of the two.
 * Each row reports the median of its rounds.
 */
async function throughputAll(withSqlite, withPg) {
  const viewer = { 'X-API-Key': KEYS.viewer };
  const quiet = { LOG_HTTP_REQUESTS: 'false' };
  const defaultsOf = (url) => {
    // The defaults: LOG_LEVEL=info, request logging on, stdout and logs/teddy_system.log.
    const env = serviceEnv(url);
    delete env.LOG_LEVEL;
    delete env.LOG_FILE;
    return env;
  };
  const targets = [
    {
      label: 'bare Nest route GET /health/ready (baseline, bench/bare-nest.js)',
      script: BARE,
      env: {},
      path: '/health/ready',
      headers: {},
    },
  ];
  const dbs = [];
  if (withSqlite) dbs.push({ name: 'SQLite', url: 'sqlite:./data/teddy.sqlite' });
  if (withPg) dbs.push({ name: 'PostgreSQL', url: (await freshPg('http')).url });
  for (const { name, url } of dbs) {
    targets.push(
      {
        label: `${name}: GET /admin/scheduler/status, LOG_LEVEL=warn LOG_HTTP_REQUESTS=false`,
        script: MAIN,
        env: serviceEnv(url, quiet),
        path: '/admin/scheduler/status',
        headers: viewer,
      },
      {
        label: `${name}: GET /admin/scheduler/status, logging defaults (info, request log, stdout + LOG_FILE)`,
        script: MAIN,
        env: defaultsOf(url),
        path: '/admin/scheduler/status',
        headers: viewer,
      },
      // Same app, a public route answering a constant: what the app costs before the guard and the status.
      {
        label: `${name}: GET /health/live (public, constant), LOG_LEVEL=warn LOG_HTTP_REQUESTS=false`,
        script: MAIN,
        env: serviceEnv(url, quiet),
        path: '/health/live',
        headers: {},
      },
    );
  }
  const servers = [];
  try {
    // One at a time: two services migrating one fresh PostgreSQL database at once would collide.
    for (const t of targets) servers.push(await launch(t.script, t.env));
    const samples = targets.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      // The baseline opens and closes every round; the round's targets are compared with the mean of both.
      const run = (i) => () => measure(servers[i], targets[i].path, targets[i].headers);
      console.error(`-- http round ${round + 1}/${ROUNDS}: ${targets[0].label}`);
      const measured = await interleavedRound(
        run(0),
        targets.slice(1).map((_, i) => () => {
          console.error(`-- http round ${round + 1}/${ROUNDS}: ${targets[i + 1].label}`);
          return run(i + 1)();
        }),
      );
      const { before, after } = measured;
      const { rps: baseRps, cpuUs: baseCpu } = measured.base;
      // Unlike bench/api.js, the baseline's row here averages its latency over both measurements and sums their errors.
      const results = [before, ...measured.results];
      results[0] = {
        ...before,
        rps: baseRps,
        cpuUs: baseCpu,
        p50: (before.p50 + after.p50) / 2,
        p99: (before.p99 + after.p99) / 2,
        bad: before.bad + after.bad,
      };
      results.forEach((r, i) => samples[i].push({ ...r, ratio: r.rps / baseRps, cpuRatio: baseCpu / r.cpuUs }));
    }
    return targets.map((t, i) => {
      const s = samples[i];
      // summary().p50, the lower middle value for an even number of rounds (bench/harness.js median averages the two).
      const med = (f) => summary(s.map(f)).p50;
      return {
        label: t.label,
        rps: med((x) => x.rps),
        p50: med((x) => x.p50),
        p99: med((x) => x.p99),
        ratio: med((x) => x.ratio),
        ratios: s.map((x) => x.ratio),
        cpuUs: med((x) => x.cpuUs),
        cpuRatio: med((x) => x.cpuRatio),
        cpuRatios: s.map((x) => x.cpuRatio),
        bad: s.reduce((a, x) => a + x.bad, 0),
        bytes: s[0].bytes,
        problems: servers[i].problems(),
      };
    });
  } finally {
    await Promise.allSettled(servers.map((s) => stop(s.child)));
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function printLag(lags) {
  const out = [];
  out.push(
    `Fire -> start lag (job_run.started_at - scheduled_for), ${FIRES} consecutive fires of "* * * * * *", cleanup task on an empty database, SCHEDULER_SYNC_SECONDS=${SYNC_SECONDS}`,
  );
  out.push('');
  out.push(
    '| setup | runs / fires | duplicates / gaps | lag p50 | lag p99 | lag max | timer alone p50 / p99 / max | task began p50 / p99 | run duration p50 | owners (runs each) |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const l of lags) {
    out.push(
      `| ${l.label} | ${l.runs} / ${l.window.fires} | ${l.window.duplicates} / ${l.window.gaps} | ${ms(l.lag.p50)} | ${ms(l.lag.p99)} | ${ms(l.lag.max)} | ${ms(l.timer.p50)} / ${ms(l.timer.p99)} / ${ms(l.timer.max)} | ${ms(l.taskLag.p50)} / ${ms(l.taskLag.p99)} | ${ms(l.duration.p50)} | ${l.owners.join(' / ')} |`,
    );
  }
  out.push('');
  for (const l of lags) {
    const statuses = Object.entries(l.statuses)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    out.push(
      `- ${l.label}: statuses ${statuses}; triggers ${l.triggers.join(', ')}; max attempt ${l.attempts}; whole run from the first fire to the pause: ${l.whole.fires} fires, ${l.whole.duplicates} duplicates, ${l.whole.gaps} gaps${l.whole.gapAt.length ? ` (${l.whole.gapAt.join(', ')})` : ''}; ${l.afterPause} run(s) for fires after the pause answered; status shows it paused: ${l.statusOk}`,
    );
    for (const p of l.problems) out.push(`  - log: ${p}`);
  }
  console.log(`\n${out.join('\n')}`);
}

function printHttp(http, loadAtStart) {
  const out = [];
  out.push(
    `Throughput, autocannon ${CONNECTIONS} connections, ${DURATION} s after a ${WARMUP} s warm-up (autocannon in the same 2 cores); median of ${ROUNDS} interleaved rounds, each compared with the bare route measured at the start and end of its round; load average ${loadAtStart} at start`,
  );
  out.push('');
  out.push(
    '| target | req/s | p50 | p99 | x bare req/s (per round) | server CPU per request | x bare by CPU (per round) | non-2xx/errors | bytes/resp |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|');
  const list = (xs) => xs.map((x) => x.toFixed(2)).join(' / ');
  for (const r of http) {
    out.push(
      `| ${r.label} | ${int(r.rps)} | ${r.p50} ms | ${r.p99} ms | **${r.ratio.toFixed(2)}** (${list(r.ratios)}) | ${int(r.cpuUs)} us | **${r.cpuRatio.toFixed(2)}** (${list(r.cpuRatios)}) | ${r.bad} | ${Math.round(r.bytes)} |`,
    );
  }
  out.push('');
  out.push(
    '"x bare by CPU": the bare route\'s server CPU time per request divided by this one\'s, i.e. the req/s ratio one core per server would give.',
  );
  const logs = http.flatMap((r) => r.problems.map((p) => `${r.label}: ${p}`));
  if (logs.length) {
    out.push('');
    for (const p of logs) out.push(`- log: ${p}`);
  }
  console.log(`\n${out.join('\n')}`);
}

(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const withPg = ONLY !== 'sqlite' && (await pgAvailable());
  if (ONLY === 'pg' && !withPg) throw new Error(`PostgreSQL at ${PG_ADMIN} does not answer`);
  const withSqlite = ONLY !== 'pg';
  const pgVersion = withPg ? (await adminQuery('SHOW server_version')).rows[0].server_version : undefined;
  const started = Date.now();
  console.log(
    `node ${process.version}, ${cpus().length} cores${pgVersion ? `, PostgreSQL ${pgVersion}` : ''}; load average ${loadNow()} at start`,
  );

  if (SKIP !== 'lag') {
    const lags = [];
    if (withPg) lags.push(await lagScenario('PostgreSQL, 1 replica', 'pg', 1));
    if (withPg) lags.push(await lagScenario('PostgreSQL, 3 replicas', 'pg', 3));
    if (withSqlite) lags.push(await lagScenario('SQLite, 1 replica', 'sqlite', 1));
    printLag(lags);
    console.log(`\n(load average ${loadNow()} after the lag runs)`);
  }
  if (SKIP !== 'http') {
    const loadAtStart = loadNow();
    printHttp(await throughputAll(withSqlite, withPg), loadAtStart);
    console.log(`\n(load average ${loadNow()} after the throughput runs)`);
  }
  console.log(`\n${((Date.now() - started) / 1000).toFixed(0)} s in all`);
})()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());

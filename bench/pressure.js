#!/usr/bin/env node
// The SQLite cleanup of the real service under load: the built service runs as its own process on a
// seeded SQLite file while clients ingest messages and a prober polls /health/live; the cleanup is
// started over HTTP (the operator's trigger) or by the command line (a second process on the same
// file), and the load stops when it ends. Baseline, in the same run: a raw
// `DELETE FROM message WHERE created_at <= cutoff` on a copy of the same seeded file.
//   npm run build && node bench/pressure.js [--dist DIR] [--messages 1000000] [--clients 50]
//                                        [--layout chronological|shuffled] [--via http|cli]
//                                        [--probe-ms 10] [--warmup-ms 2000]
// --dist: the build to run (default <repo>/dist): the service is `node DIR/src/main.js`, the CLI
// `node DIR/src/cli/job.js daily_data_cleanup`. Data: bench/seed.js as of the real current time, so
// the service's own clock sees about half of the messages as past the 30-day retention.
// Service: DATABASE_URL=sqlite:<temp file>, SCHEDULER_ENABLED=false (no cron fires), NOTICE_POLL_SECONDS=0,
// LOG_LEVEL=warn, LOG_HTTP_REQUESTS=false, LOG_FILE empty, CLEANUP_BATCH_SIZE default (5000), a free
// port on 127.0.0.1, its working directory the temp dir (so no .env is read).
// Load: `--clients` loops in this process, each POSTing one message at a time into a random young
// conversation (one of 1,000 holding messages younger than 29 days, which no cleanup deletes); one
// prober GETs /health/live every `--probe-ms` (0: none), one request at a time; keep-alive agent.
// The load runs `--warmup-ms` before the cleanup starts; figures are kept apart for the warm-up
// (the load alone) and for the requests started while the cleanup ran.
// Longest stall: nodejs_eventloop_lag_max_seconds of the service's /metrics (prom-client resets its
// event-loop histogram at each scrape): scraped right before the cleanup starts and right after it
// ends (and once early in the warm-up, since the first scrape of a process is slow and the work a
// scrape does after its reset lands in the window). The histogram's timer ticks every 10 ms, so a
// value includes up to one tick; it measures wall time between ticks, so CPU taken by other
// processes on the same cores counts too. The prober's max is the same stall as a client sees it.
require('reflect-metadata');
const { spawn } = require('node:child_process');
const { copyFileSync, createWriteStream, mkdtempSync, rmSync, statSync } = require('node:fs');
const http = require('node:http');
const { createRequire } = require('node:module');
const { loadavg, tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const Database = require('better-sqlite3');
const { checkLayout, cutoffOf, rawDeleteSqlite, seedSqlite, sqliteTime } = require('./seed');
const { KEYS, freePort, serviceEnv } = require('./service');

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const DIST = resolve(arg('dist', resolve(__dirname, '../dist')));
const MESSAGES = Number(arg('messages', 1_000_000));
const CLIENTS = Number(arg('clients', 50));
const LAYOUT = checkLayout(arg('layout', 'chronological'));
const VIA = arg('via', 'http');
if (!['http', 'cli'].includes(VIA)) throw new Error('--via http|cli');
const PROBE_MS = Number(arg('probe-ms', 10));
const WARMUP_MS = Number(arg('warmup-ms', 2000));
const TARGET_CONVERSATIONS = 1000;

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const summary = (xs) => {
  if (xs.length === 0) return '-';
  const s = Float64Array.from(xs).sort();
  const f = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `${f(pct(s, 50))} / ${f(pct(s, 99))} / ${f(s[s.length - 1])} ms (n ${fmt(s.length)})`;
};

// ---------- HTTP ----------
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 4 });
/** One request: { status, body, ms }, or { status: 'ERR <code>', body: message, ms } when the socket failed. */
function call(port, method, path, { key, body, timeoutMs = 60_000, useAgent = agent } = {}) {
  return new Promise((resolveCall) => {
    const t0 = process.hrtime.bigint();
    const done = (status, text) => resolveCall({ status, body: text, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = {};
    if (key) headers['X-API-Key'] = key;
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: useAgent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done(res.statusCode, Buffer.concat(chunks).toString('utf8')));
      res.on('error', (e) => done(`ERR ${e.code ?? e.message}`, e.message));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'TIMEOUT' })));
    req.on('error', (e) => done(`ERR ${e.code ?? e.message}`, e.message));
    req.end(payload);
  });
}

/** Ids and times blanked, so that the same error from different requests tallies as one. */
const anonymous = (text) =>
  text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ':id')
    .replace(/"(time|timestamp)":("[^"]*"|\d+)/g, '"$1":…')
    .replace(/"(pid|hostname|reqId|requestId)":("[^"]*"|\d+)/g, '"$1":…');

// ---------- the seeded file ----------
async function migrate(file) {
  const distRequire = createRequire(join(DIST, 'src', 'main.js'));
  distRequire('reflect-metadata');
  const { DataSource } = distRequire('typeorm');
  const { dataSourceOptions } = distRequire('./database/data-source');
  const { runMigrations } = distRequire('./database/migrate');
  const ds = await new DataSource(dataSourceOptions(`sqlite:${file}`)).initialize();
  await runMigrations(ds, { log() {} });
  await ds.destroy();
}

/** Conversations that hold a message younger than 29 days: no cleanup in the next day deletes them. */
function youngConversations(file, now) {
  const db = new Database(file, { readonly: true });
  const young = sqliteTime(new Date(now.getTime() - 29 * 86_400_000));
  const ids = db
    .prepare(
      `SELECT c.id FROM conversation c WHERE EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id AND m.created_at > ?)
       ORDER BY random() LIMIT ${TARGET_CONVERSATIONS}`,
    )
    .pluck()
    .all(young);
  db.close();
  return ids;
}

const countMessages = (file, cutoff) => {
  const db = new Database(file, { readonly: true });
  const all = db.prepare('SELECT COUNT(*) FROM message').pluck().get();
  const expired = db.prepare('SELECT COUNT(*) FROM message WHERE created_at <= ?').pluck().get(sqliteTime(cutoff));
  db.close();
  return { all, expired };
};

// ---------- the service and the CLI as child processes ----------
/** pino JSON lines (level >= warn) of a child's output, tallied by level and message. */
function logTally() {
  const byMsg = new Map();
  let buf = '';
  let lines = 0;
  return {
    feed(chunk) {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        lines++;
        let key;
        try {
          const j = JSON.parse(line);
          const level = { 40: 'warn', 50: 'error', 60: 'fatal' }[j.level] ?? String(j.level);
          const err = j.err ? ` (${j.err.code ? `${j.err.code}: ` : ''}${String(j.err.message).slice(0, 120)})` : '';
          key = `${level}: ${String(j.msg ?? '').slice(0, 160)}${err}`;
        } catch {
          key = line.slice(0, 200);
        }
        key = anonymous(key);
        byMsg.set(key, (byMsg.get(key) ?? 0) + 1);
      }
    },
    lines: () => lines,
    top: (n) => [...byMsg.entries()].sort((a, b) => b[1] - a[1]).slice(0, n),
  };
}

async function startService(dir, file) {
  const port = await freePort();
  const env = serviceEnv(`sqlite:${file}`, port);
  const out = createWriteStream(join(dir, 'service.log'));
  const logs = logTally();
  const child = spawn(process.execPath, [join(DIST, 'src', 'main.js')], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout, child.stderr])
    s.on('data', (c) => {
      out.write(c);
      logs.feed(c);
    });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the service exited with ${child.exitCode} at start; see its output in ${dir}/service.log`);
    const r = await call(port, 'GET', '/health/ready', { timeoutMs: 2000, useAgent: false });
    if (r.status === 200) break;
    if (Date.now() > deadline) throw new Error(`the service was not ready in 120 s (last: ${r.status} ${r.body.slice(0, 200)})`);
    await sleep(50);
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    }
    out.end();
  };
  return { port, env, pid: child.pid, logs, stop, exited };
}

function runCli(dir, env) {
  return new Promise((res) => {
    const logs = logTally();
    let stdout = '';
    const child = spawn(process.execPath, [join(DIST, 'src', 'cli', 'job.js'), 'daily_data_cleanup'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => logs.feed(c));
    child.on('exit', (code, signal) => {
      let run = null;
      try {
        run = JSON.parse(stdout).run;
      } catch {
        /* not JSON: a failure before the run; its stderr says why */
      }
      res({ code, signal, run, logs });
    });
  });
}

// ---------- the load ----------
function load(port, conversations) {
  const phases = { warmup: newPhase(), cleanup: newPhase() };
  let phase = 'warmup';
  let stopping = false;
  function newPhase() {
    return { ingest: [], ingestOk: 0, probe: [], errors: new Map() };
  }
  const record = (p, kind, r) => {
    const ok = typeof r.status === 'number' && r.status >= 200 && r.status < 300;
    if (ok) {
      p[kind].push(r.ms);
      if (kind === 'ingest') p.ingestOk++;
      return;
    }
    const key = `${kind} ${r.status}`;
    const e = p.errors.get(key) ?? { count: 0, bodies: new Map(), ms: [] };
    e.count++;
    e.ms.push(r.ms);
    const body = anonymous(String(r.body)).slice(0, 300);
    if (e.bodies.size < 5 || e.bodies.has(body)) e.bodies.set(body, (e.bodies.get(body) ?? 0) + 1);
    p.errors.set(key, e);
  };
  let n = 0;
  const client = async (c) => {
    while (!stopping) {
      const p = phases[phase];
      const conversationId = conversations[Math.floor(Math.random() * conversations.length)];
      const r = await call(port, 'POST', `/v1/conversations/${conversationId}/messages`, {
        key: KEYS.ingest,
        body: { role: n++ % 2 ? 'teddy' : 'child', text: `Teddy, what do dragons eat for breakfast? (client ${c})` },
      });
      record(p, 'ingest', r);
    }
  };
  const prober = async () => {
    while (!stopping) {
      const p = phases[phase];
      const r = await call(port, 'GET', '/health/live');
      record(p, 'probe', r);
      const wait = PROBE_MS - r.ms;
      if (wait > 0) await sleep(wait);
    }
  };
  const loops = Array.from({ length: CLIENTS }, (_, c) => client(c));
  if (PROBE_MS > 0) loops.push(prober());
  return {
    phases,
    cleanupStarts: () => (phase = 'cleanup'),
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

async function scrapeLagMax(port) {
  const r = await call(port, 'GET', '/metrics', { timeoutMs: 120_000 });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body.slice(0, 200)}`);
  const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(r.body);
  if (!m) throw new Error('/metrics has no nodejs_eventloop_lag_max_seconds');
  return { lagMs: Number(m[1]) * 1000, ms: r.ms };
}

// ---------- the run ----------
async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'teddy-bench-pressure-'));
  const file = join(dir, 'teddy.sqlite');
  const rawFile = join(dir, 'raw.sqlite');
  let service;
  try {
    console.log(
      `node ${process.version}; dist ${DIST}; ${fmt(MESSAGES)} messages, layout ${LAYOUT}, cleanup via ${VIA}, ${CLIENTS} ingest clients, ` +
        `probe every ${PROBE_MS} ms; load average at start ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    let t0 = Date.now();
    await migrate(file);
    // Whole seconds: the seeded times are then exact in SQLite's millisecond text.
    const seededAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const expired = seedSqlite(file, MESSAGES, { at: seededAt, layout: LAYOUT });
    const conversations = youngConversations(file, seededAt);
    copyFileSync(file, rawFile);
    console.log(
      `seeded as of ${seededAt.toISOString()} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${fmt(expired)} of ${fmt(MESSAGES)} messages past the cutoff, ` +
        `file ${(statSync(file).size / 1024 / 1024).toFixed(0)} MB; ${conversations.length} young conversations to ingest into`,
    );

    t0 = Date.now();
    service = await startService(dir, file);
    console.log(`service pid ${service.pid} ready on port ${service.port} in ${Date.now() - t0} ms`);

    const benchLag = monitorEventLoopDelay({ resolution: 10 });
    benchLag.enable();
    const traffic = load(service.port, conversations);
    // A first scrape early in the warm-up: the first /metrics of a process is the slow one, and the
    // work a scrape does after its reset of the histogram lands in the window it opens.
    const firstScrape = await scrapeLagMax(service.port);
    await sleep(Math.max(0, WARMUP_MS - firstScrape.ms));

    const atStart = await scrapeLagMax(service.port); // resets the service's histogram
    traffic.cleanupStarts();
    benchLag.reset();
    const started = process.hrtime.bigint();
    let answer;
    let cli;
    if (VIA === 'http') {
      answer = await call(service.port, 'POST', '/admin/scheduler/cleanup/trigger', { key: KEYS.operator, body: {}, timeoutMs: 3_600_000 });
    } else {
      cli = await runCli(dir, service.env);
    }
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const atEnd = await scrapeLagMax(service.port);
    const lagMaxMs = atEnd.lagMs;
    const benchLagMaxMs = benchLag.max / 1e6;
    benchLag.disable();
    await traffic.stop();

    const reports = await call(service.port, 'GET', '/admin/cleanup/reports?limit=1', { key: KEYS.viewer });
    const report = reports.status === 200 ? JSON.parse(reports.body).items[0] : undefined;
    const serviceLogs = service.logs;
    await service.stop();
    service = undefined;

    const cutoff = report ? new Date(report.cutoff) : cutoffOf(new Date(Date.now() - wallMs));
    const after = countMessages(file, cutoff);
    const raw = rawDeleteSqlite(rawFile, cutoff);
    const rawRate = raw.rows / (raw.ms / 1000);

    // ---------- the figures ----------
    const c = traffic.phases.cleanup;
    const w = traffic.phases.warmup;
    const rows = [];
    const row = (k, v) => rows.push([k, v]);
    if (VIA === 'http') {
      let body = {};
      try {
        body = JSON.parse(answer.body);
      } catch {
        /* shown below */
      }
      row(
        'trigger answer',
        `${answer.status}${answer.status === 200 ? '' : ` ${answer.body.slice(0, 300)}`}; run ${body.run?.status ?? '?'}`,
      );
    } else {
      row(
        'CLI exit code',
        `${cli.code}${cli.signal ? ` (${cli.signal})` : ''}; run ${cli.run?.status ?? '?'}${cli.run?.error ? ` (${cli.run.error})` : ''}`,
      );
    }
    if (report) {
      const rate = report.messagesDeleted / (report.durationMs / 1000);
      row(
        'cleanup report',
        `${report.status}, trigger ${report.trigger}, cutoff ${report.cutoff}${report.error ? `, error: ${report.error}` : ''}`,
      );
      row('cleanup duration (report / wall)', `${(report.durationMs / 1000).toFixed(2)} s / ${(wallMs / 1000).toFixed(2)} s`);
      row(
        'messages deleted',
        `${fmt(report.messagesDeleted)} (+ ${fmt(report.conversationsDeleted)} conversations), ${report.batches} batches, longest batch ${report.maxBatchMs} ms`,
      );
      row('cleanup rate', `**${fmt(rate)} messages/s** (by wall time ${fmt(report.messagesDeleted / (wallMs / 1000))})`);
      row('raw DELETE on a copy (baseline)', `${(raw.ms / 1000).toFixed(2)} s for ${fmt(raw.rows)} rows, ${fmt(rawRate)} rows/s`);
      row(
        'service rate / raw rate',
        `**${(rate / rawRate).toFixed(2)}x** (service time / raw time ${(report.durationMs / raw.ms).toFixed(2)}x)`,
      );
    } else {
      row('cleanup report', `none (GET /admin/cleanup/reports answered ${reports.status}: ${reports.body.slice(0, 200)})`);
      row('raw DELETE on a copy (baseline)', `${(raw.ms / 1000).toFixed(2)} s for ${fmt(raw.rows)} rows, ${fmt(rawRate)} rows/s`);
    }
    row(
      'longest event-loop stall (service /metrics)',
      `**${lagMaxMs.toFixed(0)} ms** (warm-up ${atStart.lagMs.toFixed(0)} ms; scrapes answered in ${firstScrape.ms.toFixed(0)} / ${atStart.ms.toFixed(0)} / ${atEnd.ms.toFixed(0)} ms; this process's own loop: ${benchLagMaxMs.toFixed(0)} ms)`,
    );
    row('/health/live p50 / p99 / max, during cleanup', summary(c.probe));
    row('/health/live, warm-up (load alone)', summary(w.probe));
    row(
      'ingest p50 / p99 / max, during cleanup',
      `${summary(c.ingest)}; ${fmt(c.ingestOk)} stored (${fmt(c.ingestOk / (wallMs / 1000))}/s)`,
    );
    row('ingest, warm-up (load alone)', `${summary(w.ingest)}; ${fmt(w.ingestOk / (WARMUP_MS / 1000))}/s`);
    const errs = [...c.errors.entries(), ...[...w.errors.entries()].map(([k, v]) => [`${k} (warm-up)`, v])];
    const fivexx = [...c.errors.entries()].filter(([k]) => / 5\d\d$/.test(k)).reduce((s, [, e]) => s + e.count, 0);
    row(
      'errors during cleanup (5xx)',
      errs.length === 0 ? '0' : `${errs.map(([k, e]) => `${k}: ${fmt(e.count)}`).join(', ')} (5xx: ${fmt(fivexx)})`,
    );
    const ingestedOk = c.ingestOk + w.ingestOk;
    const expectAll = MESSAGES - (report?.messagesDeleted ?? 0) + ingestedOk;
    row(
      'messages left / expected',
      `${fmt(after.all)} / ${fmt(expectAll)} (seeded - deleted + ${fmt(ingestedOk)} ingested)${after.all === expectAll ? '' : ' MISMATCH'}; expired left: ${fmt(after.expired)}`,
    );
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\n| ${'figure'.padEnd(width)} | value |\n|${'-'.repeat(width + 2)}|---|`);
    for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);

    for (const [k, e] of errs) {
      console.log(`\n${k}: ${fmt(e.count)} answers, latency ${summary(e.ms)}; first bodies:`);
      for (const [b, n] of e.bodies) console.log(`  ${n} x ${b}`);
    }
    if (serviceLogs.lines() > 0) {
      console.log(`\nservice log lines at warn or above: ${fmt(serviceLogs.lines())}; most frequent:`);
      for (const [m, n] of serviceLogs.top(6)) console.log(`  ${fmt(n)} x ${m}`);
    }
    if (cli && cli.logs.lines() > 0) {
      console.log(`\nCLI stderr lines: ${fmt(cli.logs.lines())}; most frequent:`);
      for (const [m, n] of cli.logs.top(6)) console.log(`  ${fmt(n)} x ${m}`);
    }
  } finally {
    if (service) await service.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

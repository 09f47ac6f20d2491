// The harness of the benchmarks that start servers as child processes and measure them over HTTP
// (bench/api.js, bench/scheduler.js): options, the clean-up of every process, scratch database and
// directory they make, HTTP calls, starting a server, its CPU time, an autocannon measurement, the
// interleaved round against a baseline, and the formatting both print with.
// Requiring this module installs the exit and signal handlers that release what was registered.
const { spawn } = require('node:child_process');
const { mkdtempSync, openSync, closeSync, readFileSync, rmSync, existsSync } = require('node:fs');
const { tmpdir, loadavg } = require('node:os');
const { join } = require('node:path');
const http = require('node:http');
const autocannon = require('autocannon');
const { createDatabase } = require('./pg');
const { freePort } = require('./service');

/** The value after `--name` on the command line, or `fallback`. */
function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

/**
 * The options of every run against servers: --duration and --warmup (seconds), --connections,
 * --rounds, each with the script's default, and --only pg|sqlite.
 */
function runOptions({ duration, warmup, connections = 10, rounds = 3 }) {
  const only = option('only', undefined);
  if (only && !['pg', 'sqlite'].includes(only)) throw new Error('--only must be pg or sqlite');
  return {
    DURATION: Number(option('duration', duration)),
    WARMUP: Number(option('warmup', warmup)),
    CONNECTIONS: Number(option('connections', connections)),
    ROUNDS: Number(option('rounds', rounds)),
    ONLY: only,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Clean-up: every process, database and directory is registered as it is made, and released
// whatever happens (error, Ctrl-C).
// ---------------------------------------------------------------------------------------------

const children = new Set();
const databases = new Map(); // name -> drop()
const dirs = new Set();
let interrupted = false;

/** Registers a child process, until it exits, so that cleanupAll() and the exit handler stop it. */
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stop(child, graceMs = 15000) {
  if (child.exitCode !== null || child.signalCode !== null) return children.delete(child);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

let cleaning;
function cleanupAll() {
  cleaning ??= (async () => {
    await Promise.allSettled([...children].map((c) => stop(c)));
    for (const [name, drop] of databases) {
      await drop().catch((e) => console.error(`could not drop ${name}: ${e.message}`));
      databases.delete(name);
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs.clear();
  })();
  return cleaning;
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    interrupted = true;
    // Whatever was waiting on the processes being stopped fails now; only the clean-up matters.
    process.on('unhandledRejection', () => undefined);
    cleanupAll().finally(() => process.exit(130));
  });
}

/** A fresh PostgreSQL database `name`, dropped by cleanupAll() unless its own drop() ran first: { url, drop() }. */
async function scratchDatabase(name) {
  if (interrupted) throw new Error('interrupted');
  const db = await createDatabase(name);
  databases.set(name, db.drop);
  return {
    url: db.url,
    drop: async () => {
      await db.drop();
      databases.delete(name);
    },
  };
}

/** A fresh directory under the system's temp dir, removed by cleanupAll(). */
function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

// ---------------------------------------------------------------------------------------------
// HTTP and processes
// ---------------------------------------------------------------------------------------------

function request(port, method, path, { key, body } = {}) {
  return new Promise((done, fail) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = {};
    if (key) headers['X-API-Key'] = key;
    if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, timeout: 10000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        done({ status: res.statusCode, body: json, headers: res.headers });
      });
    });
    req.on('error', fail);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.end(payload);
  });
}

async function expectOk(port, method, path, options) {
  const res = await request(port, method, path, options);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path} -> ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Spawns `script` on a free port with PATH, HOST=127.0.0.1 and `env` (nothing else from this
 * process's environment: a caller that wants it passes it in `env`); stdout goes to a file (read
 * afterwards for warnings and errors), stderr is kept. Resolves when GET `readyPath` answers 200.
 * Options: `cwd` (default: a new temp dir named after `tempPrefix`), `nodeArgs` (before the script),
 * `readyPath`, and `logMessage`, how problems() shortens a log message (by default its first 200
 * characters; bench/scheduler.js also blanks times and UUIDs, so that repeats count as one).
 */
async function startServer(
  script,
  env,
  { cwd, tempPrefix = 'teddy-bench-', nodeArgs = [], readyPath = '/health/ready', logMessage = (msg) => msg.slice(0, 200) } = {},
) {
  if (interrupted) throw new Error('interrupted');
  const port = await freePort();
  const dir = cwd ?? tempDir(tempPrefix);
  const stdoutFile = join(dir, `stdout-${port}.log`);
  const fd = openSync(stdoutFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', fd, 'pipe'],
  });
  closeSync(fd);
  track(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`${script} not ready after 60 s: ${stderr}`);
    const res = await request(port, 'GET', readyPath).catch(() => undefined);
    if (res?.status === 200) break;
    await sleep(20);
  }
  const log = () => (existsSync(stdoutFile) ? readFileSync(stdoutFile, 'utf8') : '');
  return {
    port,
    cwd: dir,
    child,
    /** Log lines at warn (40) or above (request lines of 4xx/5xx included), by message, with counts. */
    problems() {
      const seen = new Map();
      for (const line of log().split('\n')) {
        if (!line.trim()) continue;
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          entry = { level: 50, msg: `(not JSON) ${line.slice(0, 200)}` };
        }
        if (!(entry.level >= 40)) continue;
        const msg = `${entry.level >= 50 ? 'ERROR' : 'WARN'} ${logMessage(String(entry.msg ?? ''))}`;
        seen.set(msg, (seen.get(msg) ?? 0) + 1);
      }
      if (stderr.trim()) seen.set(`STDERR ${stderr.trim().slice(0, 240)}`, 1);
      return [...seen].map(([msg, n]) => `${n}x ${msg}`);
    },
    /** How many request lines ("request completed") the log holds, and whether each carries req.id. */
    requestLines() {
      let lines = 0;
      let withId = 0;
      for (const line of log().split('\n')) {
        if (!line.includes('"request completed"')) continue;
        lines += 1;
        if (/"req":\{"id":"[^"]+"/.test(line)) withId += 1;
      }
      return { lines, withId };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

const CLK_TCK = 100; // Linux USER_HZ
/** CPU time (user + system, all threads) the process has used, in ms. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * One measurement of `server`: autocannon with `opts` (url, headers, connections, ...) for `warmup`
 * seconds, then for `duration` seconds. Besides req/s (which depends on what else the shared machine
 * is doing), the server's own CPU time per request over the measured seconds: what the route costs,
 * much less sensitive to other load.
 */
async function cannon(server, opts, { warmup, duration }) {
  await autocannon({ ...opts, duration: warmup });
  const cpuBefore = cpuMs(server.child.pid);
  const r = await autocannon({ ...opts, duration });
  const cpu = cpuMs(server.child.pid) - cpuBefore;
  return {
    cpuUs: (cpu * 1000) / r.requests.total,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    bad: r.non2xx + r.errors + r.timeouts,
    bytes: r.throughput.average / r.requests.average,
  };
}

/**
 * One interleaved round: `baseline()` measured, then each of `measures` in turn, then `baseline()`
 * again; other sessions sharing the machine come and go, so the round's rows are compared with the
 * mean of the baseline at its start and end (`base`). What each script then keeps of `before` and
 * `after` for the baseline's own row is its own.
 */
async function interleavedRound(baseline, measures) {
  const before = await baseline();
  const results = [];
  for (const measure of measures) results.push(await measure());
  const after = await baseline();
  return { before, after, results, base: { rps: (before.rps + after.rps) / 2, cpuUs: (before.cpuUs + after.cpuUs) / 2 } };
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** The median proper: the mean of the two middle values for an even count. */
function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const int = (v) => Math.round(v).toLocaleString('en-US');
const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

module.exports = {
  cannon,
  cleanupAll,
  cpuMs,
  expectOk,
  int,
  interleavedRound,
  loadNow,
  median,
  option,
  request,
  runOptions,
  scratchDatabase,
  sleep,
  startServer,
  stop,
  tempDir,
  track,
};

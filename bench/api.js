#!/usr/bin/env node
// The request pipeline (issue 13): the service's HTTP throughput and server CPU per request against
// bare Nest routes measured in the same run.
//   npm run build && node bench/api.js [--only sqlite|pg] [--rounds 3] [--duration 5] [--warmup 1] [--connections 10]
//   (--targets status,live,ingest,batch,ingest-id,batch-id picks rows; --cpu-prof <dir> writes each service's V8 CPU profile there,
//    for bench/profile-breakdown.js; --env K=V[,K=V] sets variables of the services, e.g. LOG_HTTP_REQUESTS=false)
//
// Targets, all started at once and measured in ROUNDS interleaved rounds (other sessions share the 2
// cores, so each row's ratio is taken against its baseline in the same round, then the median kept):
// - bare GET: bench/bare-nest.js, one GET route answering a constant. Measured at the start and end
//   of each round; its mean is the baseline of the GET rows.
// - per database, the built service (dist/src/main.js) with its DEFAULTS (LOG_LEVEL=info, request
//   logging on, stdout and LOG_FILE, the scheduler on), the notice worker off:
//   - GET /admin/scheduler/status with the viewer key (served from memory);
//   - GET /health/live (public, a constant; not request-logged, as probes are not);
//   - POST /v1/conversations/:id/messages {role, text} with the ingest key: a transaction that locks
//     (PostgreSQL: FOR KEY SHARE) or checks (SQLite) the conversation, then the INSERT;
//   - the same with { messages: [100 x {role, text}] }: one transaction, one multi-row INSERT;
// - per database, bench/bare-ingest.js on the same database and table: a bare Nest route running the
//   same INSERT (same columns, UUIDv7 ids) through `pg` (pool of 10, as the service's) or
//   better-sqlite3, autocommitted, WITHOUT checking the conversation exists, no transaction of its
//   own, no validation beyond types, no guard, logger or helmet: the baseline. Measured right before
//   the service's ingest row of the same kind, which is compared with it. For single messages, a
//   second bare process (BARE_TRANSACTION=1) runs the service's statements with raw drivers (BEGIN,
//   check or lock the conversation, INSERT, COMMIT), compared with the same baseline: what the
//   transaction costs by itself, apart from the HTTP pipeline and TypeORM.
// Server CPU per request is the server process's user + system time (all threads) from
// /proc/<pid>/stat over the measured seconds, divided by the requests answered; on PostgreSQL it
// leaves out the database server's own CPU. "x bare by CPU" is the bare route's CPU per request over
// this row's, the req/s ratio one core per server would give.
//
// PostgreSQL is used when TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) answers;
// the run gets a database of its own (pipeline_bench_api_<pid>), dropped at the end, also on failure or Ctrl-C.
const { spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { mkdtempSync, openSync, closeSync, readFileSync, rmSync, existsSync, mkdirSync } = require('node:fs');
const { tmpdir, loadavg, cpus } = require('node:os');
const { join, resolve } = require('node:path');
const http = require('node:http');
const autocannon = require('autocannon');
const { adminQuery, pgAvailable, createDatabase } = require('./pg');
const { KEYS, freePort, serviceEnv } = require('./service');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}
const DURATION = Number(option('duration', 5));
const WARMUP = Number(option('warmup', 1));
const CONNECTIONS = Number(option('connections', 10));
const ROUNDS = Number(option('rounds', 3));
const ONLY = option('only', undefined);
const KINDS = option('targets', 'status,live,ingest,batch').split(',');
const CPU_PROF = option('cpu-prof', undefined);
// --env K=V[,K=V]: extra variables for the services (e.g. LOG_HTTP_REQUESTS=false, to price a component).
const EXTRA_ENV = Object.fromEntries(
  (option('env', '') || '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=')),
);
const BATCH = 100;
if (ONLY && !['pg', 'sqlite'].includes(ONLY)) throw new Error('--only must be pg or sqlite');

const ROOT = resolve(__dirname, '..');
const MAIN = resolve(option('main', join(ROOT, 'dist/src/main.js'))); // --main: another build of the service, for an A/B
const BARE = join(__dirname, 'bare-nest.js');
const BARE_INGEST = join(__dirname, 'bare-ingest.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- clean-up: processes, databases and directories are released whatever happens -------------

const children = new Set();
const databases = new Map();
const dirs = new Set();

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
  })();
  return cleaning;
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    process.on('unhandledRejection', () => undefined);
    cleanupAll().finally(() => process.exit(130));
  });
}

// --- HTTP and processes ----------------------------------------------------------------------

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

/** Spawns `script` in `cwd` with `env`; stdout to a file (read for warnings and errors), stderr kept. */
async function startServer(script, env, cwd, nodeArgs = []) {
  const port = await freePort();
  const stdoutFile = join(cwd, `stdout-${port}.log`);
  const fd = openSync(stdoutFile, 'w');
  const child = spawn(process.execPath, [...nodeArgs, script], { cwd, env: { ...env, PORT: String(port) }, stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 60000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`${script} not ready after 60 s: ${stderr}`);
    const res = await request(port, 'GET', '/health/ready').catch(() => undefined);
    if (res?.status === 200) break;
    await sleep(20);
  }
  return {
    port,
    child,
    /** Log lines at warn or above (request lines of 4xx/5xx included), by message, with counts. */
    problems() {
      const seen = new Map();
      const text = existsSync(stdoutFile) ? readFileSync(stdoutFile, 'utf8') : '';
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          entry = { level: 50, msg: `(not JSON) ${line.slice(0, 200)}` };
        }
        if (!(entry.level >= 40)) continue;
        const msg = `${entry.level >= 50 ? 'ERROR' : 'WARN'} ${String(entry.msg ?? '').slice(0, 200)}`;
        seen.set(msg, (seen.get(msg) ?? 0) + 1);
      }
      if (stderr.trim()) seen.set(`STDERR ${stderr.trim().slice(0, 240)}`, 1);
      return [...seen].map(([msg, n]) => `${n}x ${msg}`);
    },
    /** How many request lines ("request completed") the log holds, and whether each carries req.id. */
    requestLines() {
      const text = existsSync(stdoutFile) ? readFileSync(stdoutFile, 'utf8') : '';
      let lines = 0;
      let withId = 0;
      for (const line of text.split('\n')) {
        if (!line.includes('"request completed"')) continue;
        lines += 1;
        if (/"req":\{"id":"[^"]+"/.test(line)) withId += 1;
      }
      return { lines, withId };
    },
  };
}

const CLK_TCK = 100;
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

async function cannon(target) {
  const opts = {
    url: `http://127.0.0.1:${target.server.port}${target.path}`,
    method: target.method ?? 'GET',
    headers: target.headers,
    body: target.body,
    connections: CONNECTIONS,
    // A body made anew for each request (fresh client ids), when the row has one.
    // And a path of its own, when the row spreads its requests over several conversations.
    ...(target.fresh
      ? {
          requests: [{ setupRequest: (req) => ({ ...req, body: target.fresh(), ...(target.paths ? { path: target.paths.next() } : {}) }) }],
        }
      : {}),
  };
  await autocannon({ ...opts, duration: WARMUP });
  const pid = target.server.child.pid;
  const cpuBefore = cpuMs(pid);
  const r = await autocannon({ ...opts, duration: DURATION });
  const cpu = cpuMs(pid) - cpuBefore;
  return {
    cpuUs: (cpu * 1000) / r.requests.total,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    bad: r.non2xx + r.errors + r.timeouts,
    bytes: r.throughput.average / r.requests.average,
  };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const int = (v) => Math.round(v).toLocaleString('en-US');
const loadNow = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// --- the run ---------------------------------------------------------------------------------

async function setUp(withSqlite, withPg) {
  const cwd = mkdtempSync(join(tmpdir(), 'teddy-bench-api-'));
  dirs.add(cwd);
  const dbs = [];
  if (withSqlite) dbs.push({ name: 'SQLite', url: `sqlite:${join(cwd, 'data/teddy.sqlite')}` });
  if (withPg) {
    const name = `pipeline_bench_api_${process.pid}`;
    const db = await createDatabase(name);
    databases.set(name, db.drop);
    dbs.push({ name: 'PostgreSQL', url: db.url });
  }
  const bareGet = { label: 'bare Nest GET route (bench/bare-nest.js)', server: await startServer(BARE, { PATH: process.env.PATH }, cwd) };
  const rows = [];
  const services = [];
  for (const { name, url } of dbs) {
    const env = serviceEnv(url, 0);
    // The service's defaults (src/config/env.validation.ts): logging at info with request lines, to stdout and
    // logs/teddy_system.log, and the scheduler on (the status then reads each job's next fire from memory).
    // Only the notice worker stays off.
    for (const k of ['LOG_LEVEL', 'LOG_FILE', 'LOG_HTTP_REQUESTS', 'SCHEDULER_ENABLED']) delete env[k];
    Object.assign(env, EXTRA_ENV);
    const dir = join(cwd, name);
    mkdirSync(dir);
    const nodeArgs = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(CPU_PROF)}`, `--cpu-prof-name=service-${name}.cpuprofile`] : [];
    const server = await startServer(MAIN, env, dir, nodeArgs);
    services.push({ name, server });
    // The family the ingest rows write under.
    const ingest = { key: KEYS.ingest };
    const guardian = await expectOk(server.port, 'POST', '/v1/guardians', {
      ...ingest,
      body: { email: 'bench@example.com', displayName: 'Bench' },
    });
    const child = await expectOk(server.port, 'POST', `/v1/guardians/${guardian.id}/children`, { ...ingest, body: { displayName: 'Kid' } });
    const conversation = await expectOk(server.port, 'POST', `/v1/children/${child.id}/conversations`, { ...ingest, body: {} });
    const bare = await startServer(BARE_INGEST, { PATH: process.env.PATH, DATABASE_URL: url }, dir);
    const bareTx = KINDS.includes('ingest')
      ? await startServer(BARE_INGEST, { PATH: process.env.PATH, DATABASE_URL: url, BARE_TRANSACTION: '1' }, dir)
      : undefined;
    const path = `/v1/conversations/${conversation.id}/messages`;
    const json = { 'Content-Type': 'application/json' };
    const one = JSON.stringify({ role: 'child', text: 'Teddy, why is the sky blue?' });
    const many = JSON.stringify({
      messages: Array.from({ length: BATCH }, (_, i) => ({ role: i % 2 ? 'teddy' : 'child', text: `Message ${i} of the batch` })),
    });
    // A first request to each, so that a broken target fails here and not as a row of non-2xx.
    await expectOk(bare.port, 'POST', path, { body: JSON.parse(one) });
    await expectOk(server.port, 'POST', path, { ...ingest, body: JSON.parse(one) });
    const viewer = { 'X-API-Key': KEYS.viewer };
    if (KINDS.includes('status'))
      rows.push({ label: `${name}: GET /admin/scheduler/status (viewer key)`, server, path: '/admin/scheduler/status', headers: viewer });
    if (KINDS.includes('live'))
      rows.push({ label: `${name}: GET /health/live (public, constant)`, server, path: '/health/live', headers: {} });
    const post = (label, srv, body, key, perRequest) => ({
      label,
      server: srv,
      path,
      method: 'POST',
      body,
      headers: key ? { ...json, 'X-API-Key': key } : json,
      perRequest,
    });
    if (KINDS.includes('ingest')) {
      const base = post(`${name}: bare Nest INSERT, 1 message (bench/bare-ingest.js)`, bare, one, undefined, 1);
      rows.push(
        base,
        {
          ...post(`${name}: bare Nest, the service's transaction (check/lock + INSERT), 1 message`, bareTx, one, undefined, 1),
          against: base,
        },
        { ...post(`${name}: POST .../messages, 1 message (ingest key)`, server, one, KEYS.ingest, 1), against: base },
      );
    }
    if (KINDS.includes('batch')) {
      const base = post(`${name}: bare Nest INSERT, ${BATCH} messages`, bare, many, undefined, BATCH);
      rows.push(base, {
        ...post(`${name}: POST .../messages, ${BATCH} messages (ingest key)`, server, many, KEYS.ingest, BATCH),
        against: base,
      });
    }
    // The same appends with a client id on every message (a new one each request): what the retry
    // contract costs a first delivery (the conversation locked FOR NO KEY UPDATE, the ids looked up in
    // every partition on PostgreSQL, then the insert).
    const withIds = (body) => () =>
      JSON.stringify(body.messages ? { messages: body.messages.map((m) => ({ id: randomUUID(), ...m })) } : { id: randomUUID(), ...body });
    // One conversation per client, taken in turn: appends with ids into one conversation take turns by
    // design (its lock), and a toy writes one conversation at a time; this shows what the ids cost apart from that.
    const conversations = [];
    for (let i = 0; i < CONNECTIONS; i++)
      conversations.push((await expectOk(server.port, 'POST', `/v1/children/${child.id}/conversations`, { ...ingest, body: {} })).id);
    let turn = 0;
    const spread = { next: () => `/v1/conversations/${conversations[turn++ % conversations.length]}/messages` };
    for (const [kind, body, n, what] of [
      ['ingest-id', one, 1, '1 message with a client id'],
      ['batch-id', many, BATCH, `${BATCH} messages with client ids`],
    ]) {
      if (!KINDS.includes(kind)) continue;
      const base = post(
        `${name}: bare Nest INSERT, ${n === 1 ? '1 message (bench/bare-ingest.js)' : `${BATCH} messages`}`,
        bare,
        body,
        undefined,
        n,
      );
      const fresh = withIds(JSON.parse(body));
      rows.push(
        base,
        { ...post(`${name}: POST .../messages, ${what}, all into one conversation`, server, body, KEYS.ingest, n), fresh, against: base },
        {
          ...post(`${name}: POST .../messages, ${what}, one conversation per client`, server, body, KEYS.ingest, n),
          fresh,
          paths: spread,
          against: base,
        },
      );
    }
  }
  return { bareGet, rows, services };
}

async function main() {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const withPg = ONLY !== 'sqlite' && (await pgAvailable());
  if (ONLY === 'pg' && !withPg) throw new Error('PostgreSQL does not answer');
  const withSqlite = ONLY !== 'pg';
  const pgVersion = withPg ? (await adminQuery('SHOW server_version')).rows[0].server_version : undefined;
  const started = Date.now();
  const commit = (() => {
    try {
      return require('node:child_process').execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
    } catch {
      return '?';
    }
  })();
  if (Object.keys(EXTRA_ENV).length) console.log(`services with ${JSON.stringify(EXTRA_ENV)}`);
  console.log(
    `bench/api.js at ${commit}, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, ${cpus().length} cores${pgVersion ? `, PostgreSQL ${pgVersion}` : ''}; load average ${loadNow()} at start`,
  );
  const { bareGet, rows, services } = await setUp(withSqlite, withPg);
  const samples = new Map([bareGet, ...rows].map((r) => [r, []]));
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`-- round ${round + 1}/${ROUNDS}`);
    const before = await cannon({ ...bareGet, path: '/health/ready', headers: {} });
    const results = new Map();
    for (const r of rows) results.set(r, await cannon(r));
    const after = await cannon({ ...bareGet, path: '/health/ready', headers: {} });
    const base = { rps: (before.rps + after.rps) / 2, cpuUs: (before.cpuUs + after.cpuUs) / 2 };
    samples.get(bareGet).push({ ...before, ...base, ratio: 1, cpuRatio: 1 });
    for (const r of rows) {
      const m = results.get(r);
      const against = r.against ? results.get(r.against) : r.method ? m : base;
      samples.get(r).push({ ...m, ratio: m.rps / against.rps, cpuRatio: against.cpuUs / m.cpuUs });
    }
  }
  const loadAfter = loadNow();
  for (const { server } of services) await stop(server.child); // writes the CPU profiles, if asked
  const out = [];
  out.push(
    `autocannon ${CONNECTIONS} connections, ${DURATION} s after a ${WARMUP} s warm-up, in this process (same 2 cores); median of ${ROUNDS} interleaved rounds; load average ${loadAfter} at the end`,
  );
  out.push('');
  out.push(
    '| target | req/s | msg/s | p50 | p99 | x baseline req/s (per round) | server CPU/req | x baseline by CPU (per round) | non-2xx | bytes/resp |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  const list = (xs) => xs.map((x) => x.toFixed(2)).join(' / ');
  for (const r of [bareGet, ...rows]) {
    const s = samples.get(r);
    const isBase = r === bareGet || (r.method && !r.against);
    const rps = median(s.map((x) => x.rps));
    out.push(
      `| ${r.label}${isBase ? ' **baseline**' : ''} | ${int(rps)} | ${r.perRequest ? int(rps * r.perRequest) : ''} | ${median(s.map((x) => x.p50))} ms | ${median(s.map((x) => x.p99))} ms | ${isBase ? '1.00' : `**${median(s.map((x) => x.ratio)).toFixed(2)}** (${list(s.map((x) => x.ratio))})`} | ${int(median(s.map((x) => x.cpuUs)))} us | ${isBase ? '1.00' : `**${median(s.map((x) => x.cpuRatio)).toFixed(2)}** (${list(s.map((x) => x.cpuRatio))})`} | ${s.reduce((a, x) => a + x.bad, 0)} | ${Math.round(s[0].bytes)} |`,
    );
  }
  out.push('');
  out.push(
    'GET rows: against the bare GET route measured at the start and end of the same round. Ingest rows: against the bare INSERT row just before them.',
  );
  for (const { name, server } of services) {
    const { lines, withId } = server.requestLines();
    out.push(`- ${name} service: ${int(lines)} request log lines, ${int(withId)} with req.id`);
    for (const p of server.problems()) out.push(`  - log: ${p}`);
  }
  console.log(`\n${out.join('\n')}\n\n${((Date.now() - started) / 1000).toFixed(0)} s in all`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());

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
const { randomUUID } = require('node:crypto');
const { existsSync, mkdirSync } = require('node:fs');
const { cpus } = require('node:os');
const { join, resolve } = require('node:path');
const { adminQuery, pgAvailable } = require('./pg');
const { KEYS, serviceEnv } = require('./service');
const {
  option,
  runOptions,
  stop,
  cleanupAll,
  scratchDatabase,
  tempDir,
  expectOk,
  startServer,
  cannon,
  interleavedRound,
  median,
  int,
  loadNow,
} = require('./harness');

const { DURATION, WARMUP, CONNECTIONS, ROUNDS, ONLY } = runOptions({ duration: 5, warmup: 1 });
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

const ROOT = resolve(__dirname, '..');
const MAIN = resolve(option('main', join(ROOT, 'dist/src/main.js'))); // --main: another build of the service, for an A/B
const BARE = join(__dirname, 'bare-nest.js');
const BARE_INGEST = join(__dirname, 'bare-ingest.js');

/** One row's measurement: its request (a fresh body, and path, per request when the row has them). */
function measure(target) {
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
  return cannon(target.server, opts, { warmup: WARMUP, duration: DURATION });
}

// --- the run ---------------------------------------------------------------------------------

async function setUp(withSqlite, withPg) {
  const cwd = tempDir('teddy-bench-api-');
  const dbs = [];
  if (withSqlite) dbs.push({ name: 'SQLite', url: `sqlite:${join(cwd, 'data/teddy.sqlite')}` });
  if (withPg) {
    const db = await scratchDatabase(`pipeline_bench_api_${process.pid}`);
    dbs.push({ name: 'PostgreSQL', url: db.url });
  }
  const bareGet = { label: 'bare Nest GET route (bench/bare-nest.js)', server: await startServer(BARE, {}, { cwd }) };
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
    const server = await startServer(MAIN, env, { cwd: dir, nodeArgs });
    services.push({ name, server });
    // The family the ingest rows write under.
    const ingest = { key: KEYS.ingest };
    const guardian = await expectOk(server.port, 'POST', '/v1/guardians', {
      ...ingest,
      body: { email: 'bench@example.com', displayName: 'Bench' },
    });
    const child = await expectOk(server.port, 'POST', `/v1/guardians/${guardian.id}/children`, { ...ingest, body: { displayName: 'Kid' } });
    const conversation = await expectOk(server.port, 'POST', `/v1/children/${child.id}/conversations`, { ...ingest, body: {} });
    const bare = await startServer(BARE_INGEST, { DATABASE_URL: url }, { cwd: dir });
    const bareTx = KINDS.includes('ingest')
      ? await startServer(BARE_INGEST, { DATABASE_URL: url, BARE_TRANSACTION: '1' }, { cwd: dir })
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
    const measured = await interleavedRound(
      () => measure({ ...bareGet, path: '/health/ready', headers: {} }),
      rows.map((r) => () => measure(r)),
    );
    const { before, base } = measured;
    const results = new Map(rows.map((r, i) => [r, measured.results[i]]));
    // The bare GET row keeps the latency and errors of its first measurement in the round (bench/scheduler.js averages both).
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

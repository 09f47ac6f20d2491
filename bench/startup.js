#!/usr/bin/env node
// Start-up time to ready and idle memory of the built service, against a bare Nest app started the
// same way in the same run.
//   npm run build && node bench/startup.js [runs=5]
// PostgreSQL is measured too when TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test)
// answers; a fresh database is created and dropped for it.
const { spawn } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const http = require('node:http');
const { createDatabase, pgAvailable } = require('./pg');

const RUNS = Number(process.argv[2] ?? 5);
const IDLE_MS = 5000;
const ROOT = resolve(__dirname, '..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (port) =>
  new Promise((done) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health/ready', timeout: 500 }, (res) => {
      res.resume();
      done(res.statusCode);
    });
    req.on('error', () => done(0));
    req.on('timeout', () => req.destroy());
  });
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

let nextPort = 41000 + Math.floor(Math.random() * 1000);

async function once(script, env, measureIdle) {
  const port = nextPort++;
  const cwd = mkdtempSync(join(tmpdir(), 'teddy-bench-'));
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [script], {
    cwd,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      LOG_FILE: '',
      ADMIN_API_KEY: 'bench-operator-key-0000000001',
      // Set, so the development start does not generate one and print it into the figures.
      VIEWER_API_KEY: 'bench-viewer-key-00000000000002',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}: ${stderr}`);
      if ((await status(port)) === 200) break;
      await sleep(5);
    }
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    let idleRss;
    if (measureIdle) {
      await sleep(IDLE_MS);
      idleRss = rssMb(child.pid);
    }
    return { readyMs, idleRss };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function measure(label, script, envFor) {
  const times = [];
  let idle;
  for (let i = 0; i < RUNS; i++) {
    const env = await envFor(i);
    const { readyMs, idleRss } = await once(script, env.vars, i === RUNS - 1);
    await env.cleanup?.();
    times.push(readyMs);
    if (idleRss) idle = idleRss;
  }
  times.sort((a, b) => a - b);
  return { label, median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1], idle };
}

async function freshPg(i) {
  const db = await createDatabase(`teddy_bench_${process.pid}_${i}`);
  return { vars: { DATABASE_URL: db.url }, cleanup: db.drop };
}

(async () => {
  const main = join(ROOT, 'dist/src/main.js');
  const results = [];
  results.push(await measure('bare Nest route (baseline)', join(__dirname, 'bare-nest.js'), async () => ({ vars: {} })));
  results.push(
    await measure('teddy-scheduler, SQLite (empty db, migrates)', main, async () => ({
      vars: { DATABASE_URL: 'sqlite:./data/teddy.sqlite' },
    })),
  );
  if (await pgAvailable()) results.push(await measure('teddy-scheduler, PostgreSQL (empty db, migrates)', main, freshPg));
  const base = results[0];
  console.log(`node ${process.version}, ${RUNS} runs each, idle RSS read ${IDLE_MS / 1000} s after ready`);
  console.log('| target | ready median (min..max) | x baseline | idle RSS |');
  console.log('|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.label} | ${r.median.toFixed(0)} ms (${r.min.toFixed(0)}..${r.max.toFixed(0)}) | ${(r.median / base.median).toFixed(2)} | ${r.idle.toFixed(1)} MB (${(r.idle / base.idle).toFixed(2)}x) |`,
    );
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});

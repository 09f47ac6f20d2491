// The harness of the benchmarks that run the built service inside their own process (bench/notices.js,
// bench/notice-count.js): a scratch store on either database, and the application booted on it with
// a fixed clock, quiet logs and every key set (so the development start prints none into the figures).
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { createDatabase, PG_ADMIN, pgAvailable } = require('./pg');

const ROOT = resolve(__dirname, '..');
/** A module of the build (npm run build). */
const dist = (p) => require(join(ROOT, 'dist', p));

/** A fresh SQLite file or PostgreSQL database: { url, drop() }. */
async function scratch(kind, prefix) {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `teddy-bench-${prefix}-`));
    return { url: `sqlite:${join(dir, 'teddy.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  return createDatabase(`teddy_bench_${prefix}_${process.pid}_${Math.floor(Math.random() * 1e6)}`);
}

/** The application on `url`, initialised, its clock fixed at `now` (a FixedClock the caller may move). */
async function boot(url, now, extraEnv = {}) {
  const { createApp } = dist('src/app.factory');
  const { FixedClock } = dist('src/common/clock');
  const { validateEnv } = dist('src/config/env.validation');
  const env = validateEnv({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    ADMIN_API_KEY: 'bench-operator-key-0000000001',
    VIEWER_API_KEY: 'bench-viewer-key-00000000000002',
    INGEST_API_KEY: 'bench-ingest-key-00000000000003',
    LOG_LEVEL: 'warn',
    LOG_FILE: '',
    LOG_HTTP_REQUESTS: 'false',
    NOTICE_POLL_SECONDS: '0',
    ...extraEnv,
  });
  const clock = new FixedClock(now);
  const app = await createApp({ env, clock });
  await app.init();
  return { app, clock };
}

/** The databases to measure: SQLite always, PostgreSQL when it answers (said when it does not). */
async function databaseKinds() {
  if (await pgAvailable()) return ['sqlite', 'postgres'];
  console.log(`PostgreSQL not reachable at ${PG_ADMIN}: SQLite only`);
  return ['sqlite'];
}

module.exports = { ROOT, dist, scratch, boot, databaseKinds };

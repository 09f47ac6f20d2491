// PostgreSQL helpers shared by the benchmarks: every benchmark creates its own database on the
// server at TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) and drops it after.
const { Client } = require('pg');

const PG_ADMIN = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function adminQuery(sql) {
  const c = new Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function pgAvailable() {
  try {
    await adminQuery('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** A fresh, empty database named `name` (dropped first if a crashed run left it): { url, drop() }. */
async function createDatabase(name) {
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

module.exports = { PG_ADMIN, adminQuery, pgAvailable, createDatabase };

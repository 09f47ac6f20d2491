#!/usr/bin/env node
// What a backdated import pays for a day that has no partition yet on PostgreSQL: creating the
// day (ensure_message_partitions: CREATE TABLE, then ATTACH PARTITION, under the day's advisory
// lock), against asking for a day that exists, and two clients asking for the same new day at once.
//   npm run build && node bench/partition-create.js [--days 50]
require('reflect-metadata');
const { DataSource } = require('typeorm');
const { resolve } = require('node:path');
const { createDatabase } = require('./pg');

const DIST = resolve(__dirname, '../dist/src');
const { dataSourceOptions } = require(`${DIST}/database/data-source`);
const { runMigrations } = require(`${DIST}/database/migrate`);
const i = process.argv.indexOf('--days');
const DAYS = i > 0 ? Number(process.argv[i + 1]) : 50;
const DAY = 86_400_000;

const ms = (from) => Number(process.hrtime.bigint() - from) / 1e6;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (a) => `median ${median(a).toFixed(2)} ms, max ${Math.max(...a).toFixed(2)} ms`;

(async () => {
  const db = await createDatabase('bench_partition_create');
  const ds = await new DataSource(dataSourceOptions(db.url, 4)).initialize();
  try {
    await runMigrations(ds, { log() {}, warn() {}, error() {} });
    const ensure = async (day) => {
      const t0 = process.hrtime.bigint();
      await ds.query('SELECT ensure_message_partitions($1, $1)', [day]);
      return ms(t0);
    };
    const create = [];
    const present = [];
    const raced = [];
    for (let d = 0; d < DAYS; d++) create.push(await ensure(new Date(Date.UTC(2020, 0, 1) + d * DAY)));
    for (let d = 0; d < DAYS; d++) present.push(await ensure(new Date(Date.UTC(2020, 0, 1) + d * DAY)));
    for (let d = 0; d < DAYS; d++) {
      const day = new Date(Date.UTC(2021, 0, 1) + d * DAY);
      const t0 = process.hrtime.bigint();
      await Promise.all([ensure(day), ensure(day)]);
      raced.push(ms(t0));
    }
    const [{ n }] = await ds.query(`SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'message'::regclass`);
    console.log(`PostgreSQL, ${DAYS} days each:`);
    console.log(`  create a missing day            ${fmt(create)}`);
    console.log(`  ask for a day that exists       ${fmt(present)}`);
    console.log(`  two clients, the same new day   ${fmt(raced)} (both answered)`);
    console.log(`  partitions now: ${n} (${3 * DAYS} asked for, ${2 * DAYS} distinct, plus the migration's)`);
  } finally {
    await ds.destroy();
    await db.drop();
  }
})();

// The cleanup benchmarks' data, seeded by set-based SQL (no JS rows), shared by bench/cleanup.js,
// bench/cancel.js (through cleanup.js) and bench/pressure.js. Nothing here loads the built service,
// so a script may run against any build (bench/pressure.js --dist).
// Shape: 10,000 guardians, 20,000 children, 5 conversations each, `messages` messages spread evenly
// over the 60 days before `at`, so about half are past the 30-day retention.
//   layout chronological: rows stored in the order they were said, as live ingestion writes them
//     (the usual case); each conversation holds consecutive messages and starts with its first one.
//   layout shuffled: created_at unrelated to storage order, as after a large backdated import (the
//     worst case for a delete that walks the created_at index); every conversation started 61 days ago.
// Message ids are md5 hashes shaped as version-4 UUIDs (the version digit forced to 4), as the
// service wrote them before version-7 ids: a partitioned table's CHECK "CHK_message_id_time" refuses
// a "version 7" id whose time is not its row's. On a partitioned message table (PostgreSQL since
// migration 1764806400000) seedPg first creates the daily partitions of the seeded span.
const Database = require('better-sqlite3');

const GUARDIANS = 10_000;
const CHILDREN = 20_000;
const CONVERSATIONS = CHILDREN * 5;
const SPAN_S = 60 * 86_400;
const RETENTION_MS = 30 * 86_400_000;
const LAYOUTS = ['chronological', 'shuffled'];

const checkLayout = (layout) => {
  if (!LAYOUTS.includes(layout)) throw new Error('--layout chronological|shuffled');
  return layout;
};
/** A Date as the service stores timestamps in SQLite ('YYYY-MM-DD HH:MM:SS.SSS', UTC). */
const sqliteTime = (date) => date.toISOString().replace('T', ' ').replace('Z', '');
/** The cutoff of a run at `at` under the default 30-day retention. */
const cutoffOf = (at) => new Date(at.getTime() - RETENTION_MS);

// Age in seconds (before `at`) of message number i, as SQL.
const agePg = (layout, i, n) =>
  layout === 'shuffled' ? `((${i}::bigint * 7919) % ${SPAN_S})` : `((${SPAN_S}::bigint * (${n} - ${i})) / ${n})`;
const ageSqlite = (layout, i, n) => (layout === 'shuffled' ? `((${i} * 7919) % ${SPAN_S})` : `((${SPAN_S} * (${n} - ${i})) / ${n})`);
const perConversation = (n) => Math.max(1, Math.floor(n / CONVERSATIONS));
// Which conversation message i belongs to: consecutive runs (chronological) or spread round-robin (shuffled).
const conversationOf = (layout, n) =>
  layout === 'shuffled' ? `((i - 1) % ${CONVERSATIONS} + 1)` : `(((i - 1) / ${perConversation(n)}) % ${CONVERSATIONS} + 1)`;

/**
 * Replaces the data of a migrated PostgreSQL database; returns how many messages are expired at `at`.
 * autovacuum 'off' keeps autovacuum off the message table during measurements.
 */
async function seedPg(client, messages, { at, layout, autovacuum = 'on' }) {
  checkLayout(layout);
  const iso = at.toISOString();
  const [{ partitioned }] = (await client.query(`SELECT relkind = 'p' AS partitioned FROM pg_class WHERE oid = 'message'::regclass`)).rows;
  await client.query(`TRUNCATE guardian, child, conversation, message, cleanup_report CASCADE`);
  // Every message is younger than SPAN_S and at least 1 ms old (see agePg).
  if (partitioned)
    await client.query(`SELECT ensure_message_partitions($1, $2)`, [new Date(at.getTime() - SPAN_S * 1000), new Date(at.getTime() - 1)]);
  await client.query(`INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at)
    SELECT md5('g' || i)::uuid, 'g' || i || '@example.com', 'G' || i, 'en', NULL, true, '${iso}'::timestamptz - interval '90 days'
    FROM generate_series(1, ${GUARDIANS}) i`);
  await client.query(`INSERT INTO child (id, guardian_id, display_name, created_at)
    SELECT md5('c' || i)::uuid, md5('g' || ((i - 1) % ${GUARDIANS} + 1))::uuid, 'C' || i, '${iso}'::timestamptz - interval '90 days'
    FROM generate_series(1, ${CHILDREN}) i`);
  const convStart =
    layout === 'shuffled'
      ? `interval '61 days'`
      : `${agePg(layout, '((j - 1) * ' + perConversation(messages) + ' + 1)', messages)} * interval '1 second'`;
  await client.query(`INSERT INTO conversation (id, child_id, started_at, created_at)
    SELECT md5('v' || j)::uuid, md5('c' || ((j - 1) % ${CHILDREN} + 1))::uuid, '${iso}'::timestamptz - ${convStart}, '${iso}'::timestamptz - ${convStart}
    FROM generate_series(1, ${CONVERSATIONS}) j`);
  await client.query(`INSERT INTO message (id, conversation_id, role, text, created_at)
    SELECT overlay(md5('m' || i) placing '4' from 13 for 1)::uuid, md5('v' || ${conversationOf(layout, messages)})::uuid,
           CASE WHEN i % 2 = 0 THEN 'child' ELSE 'teddy' END,
           'Teddy, tell me a story about a dragon who is afraid of the dark, number ' || i,
           '${iso}'::timestamptz - ${agePg(layout, 'i', messages)} * interval '1 second' - interval '1 millisecond'
    FROM generate_series(1, ${messages}) i`);
  // A partitioned table has no storage of its own to set this on: its partitions have.
  const tables = partitioned
    ? (await client.query(`SELECT relid::text AS name FROM pg_partition_tree('message') WHERE isleaf`)).rows.map((r) => r.name)
    : ['message'];
  for (const table of tables)
    await client.query(`ALTER TABLE ${table} SET (autovacuum_enabled = ${autovacuum === 'off' ? 'false' : 'true'})`);
  await client.query('VACUUM ANALYZE');
  // Start every measured run from a quiet server: no checkpoint of the seed's writes in the middle of it.
  await client.query('CHECKPOINT');
  const [{ expired }] = (await client.query(`SELECT COUNT(*)::int AS expired FROM message WHERE created_at <= $1`, [cutoffOf(at)])).rows;
  return expired;
}

/** Replaces the data of a migrated SQLite file; returns how many messages are expired at `at`. */
function seedSqlite(file, messages, { at, layout }) {
  checkLayout(layout);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const atS = at.getTime() / 1000;
  const ts = (expr) => `strftime('%Y-%m-%d %H:%M:%f', ${expr}, 'unixepoch')`;
  db.exec(`DELETE FROM message; DELETE FROM conversation; DELETE FROM child; DELETE FROM guardian; DELETE FROM cleanup_report;`);
  const uuid = (prefix, expr) => `printf('%08x-0000-4000-8000-%012x', ${prefix}, ${expr})`;
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${GUARDIANS})
    INSERT INTO guardian (id, email, display_name, locale, retention_days, notifications_enabled, created_at)
    SELECT ${uuid(1, 'i')}, 'g' || i || '@example.com', 'G' || i, 'en', NULL, 1, ${ts(atS - 90 * 86400)} FROM s`);
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${CHILDREN})
    INSERT INTO child (id, guardian_id, display_name, created_at)
    SELECT ${uuid(2, 'i')}, ${uuid(1, `(i - 1) % ${GUARDIANS} + 1`)}, 'C' || i, ${ts(atS - 90 * 86400)} FROM s`);
  const convTs =
    layout === 'shuffled'
      ? ts(atS - 61 * 86400)
      : ts(`${atS} - ${ageSqlite(layout, `((i - 1) * ${perConversation(messages)} + 1)`, messages)}`);
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${CONVERSATIONS})
    INSERT INTO conversation (id, child_id, started_at, created_at)
    SELECT ${uuid(3, 'i')}, ${uuid(2, `(i - 1) % ${CHILDREN} + 1`)}, ${convTs}, ${convTs} FROM s`);
  db.exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${messages})
    INSERT INTO message (id, conversation_id, role, text, created_at)
    SELECT ${uuid(4, 'i')}, ${uuid(3, conversationOf(layout, messages))}, CASE WHEN i % 2 = 0 THEN 'child' ELSE 'teddy' END,
           'Teddy, tell me a story about a dragon who is afraid of the dark, number ' || i,
           ${ts(`${atS} - ${ageSqlite(layout, 'i', messages)} - 0.001`)} FROM s`);
  db.exec('ANALYZE');
  const { expired } = db.prepare('SELECT COUNT(*) AS expired FROM message WHERE created_at <= ?').get(sqliteTime(cutoffOf(at)));
  db.close();
  return expired;
}

/** The raw baseline: one `DELETE FROM message WHERE created_at <= ?` on the file, timed: { ms, rows }. */
function rawDeleteSqlite(file, cutoff) {
  const db = new Database(file);
  const t0 = Date.now();
  const info = db.prepare('DELETE FROM message WHERE created_at <= ?').run(sqliteTime(cutoff));
  const ms = Date.now() - t0;
  db.close();
  return { ms, rows: info.changes };
}

module.exports = {
  GUARDIANS,
  CHILDREN,
  CONVERSATIONS,
  LAYOUTS,
  checkLayout,
  sqliteTime,
  cutoffOf,
  seedPg,
  seedSqlite,
  rawDeleteSqlite,
};

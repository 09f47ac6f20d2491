// The ingest baseline for bench/api.js: a bare Nest app (default body parser, no logger, no guard, no
// pipes, no helmet) with the service's route POST /v1/conversations/:id/messages. It runs the INSERT
// the service runs, with the same columns and values (a UUIDv7 id from dist/src/records/message-id.js,
// the conversation id, role, text, created_at = now), into the same database and table the service
// uses: one row for `{ role, text }`, one multi-row INSERT for `{ messages: [...] }`. It does NOT
// check or lock the conversation, open a transaction of its own (each INSERT autocommits), validate
// the body beyond its types, or retry a missing partition.
// With BARE_TRANSACTION=1 it runs the service's statements instead: BEGIN (SQLite: BEGIN IMMEDIATE),
// SELECT 1 FROM conversation WHERE id = $1 (PostgreSQL: FOR KEY SHARE; 404 if none), the INSERT, COMMIT.
//   DATABASE_URL=postgres://... | sqlite:<file>   PORT=...   (GET /health/ready answers once listening)
const { serveBare } = require('./bare-nest'); // loads reflect-metadata first
const { BadRequestException, Body, Controller, Get, Module, Param, Post } = require('@nestjs/common');
const { resolve } = require('node:path');
const { messageId } = require(resolve(__dirname, '../dist/src/records/message-id.js'));

const url = process.env.DATABASE_URL;
const sqlite = url.startsWith('sqlite:');
const TRANSACTION = process.env.BARE_TRANSACTION === '1';
const notFound = (id) => Object.assign(new Error(`conversation ${id} not found`), { status: 404 });

/** TypeORM's better-sqlite3 driver stores a Date as 'YYYY-MM-DD HH:MM:SS.SSS' (UTC); pg takes the Date. */
const sqliteTime = (d) => d.toISOString().replace('T', ' ').slice(0, 23);

let insert; // (rows: [id, conversationId, role, text, createdAt][]) => Promise<void>
if (sqlite) {
  const Database = require('better-sqlite3');
  const db = new Database(resolve(url.slice('sqlite:'.length)), { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // The service's own worker thread checkpoints this file every 5 s (its connections do not): so for both.
  db.pragma('wal_autocheckpoint = 0');
  const statements = new Map();
  const statement = (n) => {
    if (!statements.has(n)) {
      const values = Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ');
      statements.set(n, db.prepare(`INSERT INTO "message"("id", "conversation_id", "role", "text", "created_at") VALUES ${values}`));
    }
    return statements.get(n);
  };
  const exists = db.prepare('SELECT 1 FROM "conversation" WHERE "id" = ?');
  const run = (rows) => statement(rows.length).run(rows.flatMap(([id, c, role, text, at]) => [id, c, role, text, sqliteTime(at)]));
  const checked = db.transaction((rows) => {
    if (!exists.get(rows[0][1])) throw notFound(rows[0][1]);
    run(rows);
  });
  insert = async (rows) => (TRANSACTION ? checked.immediate(rows) : run(rows));
} else {
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: url, max: 10 });
  const sql = (rows) =>
    `INSERT INTO "message"("id", "conversation_id", "role", "text", "created_at") VALUES ${rows.map((_, i) => `($${i * 5 + 1}, $${i * 5 + 2}, $${i * 5 + 3}, $${i * 5 + 4}, $${i * 5 + 5})`).join(', ')}`;
  insert = async (rows) => {
    if (!TRANSACTION) return void (await pool.query(sql(rows), rows.flat()));
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rowCount } = await client.query('SELECT 1 FROM "conversation" WHERE "id" = $1 FOR KEY SHARE', [rows[0][1]]);
      if (!rowCount) throw notFound(rows[0][1]);
      await client.query(sql(rows), rows.flat());
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}

class IngestController {
  ready() {
    return { status: 'ok' };
  }

  async append(conversationId, body) {
    const single = body.messages === undefined;
    const inputs = single ? [body] : body.messages;
    if (!Array.isArray(inputs) || inputs.some((m) => typeof m?.role !== 'string' || typeof m?.text !== 'string')) {
      throw new BadRequestException('role and text are required');
    }
    const now = new Date();
    const messages = inputs.map((m) => ({ id: messageId(now), conversationId, role: m.role, text: m.text, createdAt: now }));
    await insert(messages.map((m) => [m.id, m.conversationId, m.role, m.text, m.createdAt]));
    return single ? messages[0] : { items: messages, count: messages.length };
  }
}
const method = (name) => Object.getOwnPropertyDescriptor(IngestController.prototype, name);
Get('health/ready')(IngestController.prototype, 'ready', method('ready'));
Post('v1/conversations/:id/messages')(IngestController.prototype, 'append', method('append'));
Param('id')(IngestController.prototype, 'append', 0);
Body()(IngestController.prototype, 'append', 1);
Controller()(IngestController);

class BareIngestModule {}
Module({ controllers: [IngestController] })(BareIngestModule);

serveBare(BareIngestModule);

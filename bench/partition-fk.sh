#!/usr/bin/env bash
# What the message -> conversation foreign key costs on a day-partitioned message table: deleting
# 25,000 empty conversations with the key (each delete runs its check, which probes every partition)
# and without it (the same statement's NOT EXISTS probes them too), on 37 partitions of 2,000,000
# messages' worth, 30 expired days dropped first. Each timed statement runs in a transaction rolled back.
#   bash bench/partition-fk.sh        (TEST_POSTGRES_URL's server; creates and drops bench_partition_fk)
set -euo pipefail
ADMIN=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
DB=bench_partition_fk
URL="${ADMIN%/*}/$DB"
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
trap 'psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
psql -q "$URL" <<'SQL'
CREATE TABLE conversation (id uuid PRIMARY KEY, child_id uuid NOT NULL, started_at timestamptz NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON conversation (child_id, started_at);
INSERT INTO conversation SELECT gen_random_uuid(), gen_random_uuid(), timestamptz '2026-09-30' + (i % 60) * interval '1 day', now() FROM generate_series(0, 99999) i;
CREATE TABLE message (id uuid NOT NULL, conversation_id uuid NOT NULL REFERENCES conversation (id), role varchar(5) NOT NULL, text text NOT NULL,
  created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
DO $$ BEGIN FOR d IN 0..66 LOOP
  EXECUTE format('CREATE TABLE message_p%s PARTITION OF message FOR VALUES FROM (%L) TO (%L)', to_char(timestamptz '2026-09-30' + d * interval '1 day', 'YYYYMMDD'),
    timestamptz '2026-09-30' + d * interval '1 day', timestamptz '2026-09-30' + (d + 1) * interval '1 day');
END LOOP; END $$;
CREATE INDEX ON message (created_at);
CREATE INDEX ON message (conversation_id, created_at);
CREATE TEMP TABLE convs AS SELECT id, started_at, row_number() OVER () - 1 AS n FROM conversation;
-- 20 messages per conversation, all on the day it started.
INSERT INTO message SELECT gen_random_uuid(), c.id, 'child', repeat('x', 60), c.started_at + (i % 1000) * interval '1 second'
  FROM generate_series(0, 1999999) i JOIN convs c ON c.n = i % 100000;
ANALYZE;
-- The 30 expired days go, as the cleanup drops them: 37 partitions are left.
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'message'::regclass AND c.relname < 'message_p20261030' LOOP
    EXECUTE format('DROP TABLE %I', r.relname);
  END LOOP; END $$;
SQL
psql "$URL" <<'SQL'
\timing on
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'message'::regclass;
\echo 'with the foreign key: 25,000 empty conversations'
BEGIN;
DELETE FROM conversation c WHERE started_at < '2026-10-15' AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id);
ROLLBACK;
\echo 'without it: the same statement'
BEGIN;
ALTER TABLE message DROP CONSTRAINT message_conversation_id_fkey;
DELETE FROM conversation c WHERE started_at < '2026-10-15' AND NOT EXISTS (SELECT 1 FROM message m WHERE m.conversation_id = c.id);
ROLLBACK;
SQL

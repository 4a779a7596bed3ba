-- The PostgreSQL engine's schema: its tables, indexes, sequence and clock. With the files after
-- it (the transitions, 2-claim.sql and 3-settle.sql; inspection and administration,
-- 4-admin.sql), installed by src/backends/postgres/index.ts (migrate) under an
-- advisory lock; idempotent (IF NOT EXISTS, CREATE OR REPLACE), so an older schema is brought
-- up to date by running it again. Placeholders in double braces: S, the quoted schema; WAKE,
-- the LISTEN/NOTIFY channel; the rest, constants of src/policy.ts; put in at install (schema.ts).
CREATE SCHEMA IF NOT EXISTS {{S}};
CREATE TABLE IF NOT EXISTS {{S}}.schema_version (version int NOT NULL);
CREATE TABLE IF NOT EXISTS {{S}}.queues (
  name text PRIMARY KEY,
  max_depth bigint,
  max_attempts int,
  lease_ms bigint,
  paused boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS {{S}}.messages (
  queue text NOT NULL,
  id text NOT NULL,
  body bytea NOT NULL,
  priority smallint NOT NULL,
  attempt int NOT NULL DEFAULT 0,
  state text NOT NULL,
  enqueued_at bigint NOT NULL,
  not_before bigint,
  lease_until bigint,
  token text,
  expires_at bigint,
  key text,
  headers text,
  topic text,
  reason text,
  ended_at bigint,
  seq bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, id)
);
ALTER TABLE {{S}}.messages ADD COLUMN IF NOT EXISTS seq bigint NOT NULL DEFAULT 0;
-- Why the last delivery failed (JSON, with "at"), kept while the message waits to be tried again.
ALTER TABLE {{S}}.messages ADD COLUMN IF NOT EXISTS last_failure text;
DROP INDEX IF EXISTS {{S}}.messages_ready;
CREATE INDEX IF NOT EXISTS messages_ready_seq ON {{S}}.messages (queue, priority, seq, id) WHERE state = 'ready';
CREATE INDEX IF NOT EXISTS messages_delayed ON {{S}}.messages (queue, not_before) WHERE state = 'delayed';
CREATE INDEX IF NOT EXISTS messages_inflight ON {{S}}.messages (queue, lease_until) WHERE state = 'inflight';
CREATE INDEX IF NOT EXISTS messages_state ON {{S}}.messages (queue, state, id);
CREATE TABLE IF NOT EXISTS {{S}}.keys (scope text NOT NULL, key text NOT NULL, id text NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (scope, key));
-- Push attempts (push): the reply of each push the client named, kept {{ATTEMPT_TTL_MS}} ms, so
-- that the same push sent again after its reply was lost is stored once.
CREATE TABLE IF NOT EXISTS {{S}}.attempts (attempt text PRIMARY KEY, at bigint NOT NULL, ids text[] NOT NULL, states text[] NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_at ON {{S}}.attempts (at);
CREATE TABLE IF NOT EXISTS {{S}}.topics (name text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS {{S}}.subs (topic text NOT NULL, queue text NOT NULL, PRIMARY KEY (topic, queue));
-- Push order: every message draws one value (S.messages.seq); an id shows its last 16 bits.
-- Rows from version 2 have seq 0: among them, the id decides (as it did).
CREATE SEQUENCE IF NOT EXISTS {{S}}.id_seq;
ALTER SEQUENCE {{S}}.id_seq AS bigint NO MAXVALUE NO CYCLE;

CREATE OR REPLACE FUNCTION {{S}}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;


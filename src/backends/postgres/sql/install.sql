-- The PostgreSQL engine's schema and its state transitions, one function each, with their
-- contracts and race notes. Installed by src/backends/postgres/index.ts (migrate) under an
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
DROP INDEX IF EXISTS {{S}}.messages_ready;
CREATE INDEX IF NOT EXISTS messages_ready_seq ON {{S}}.messages (queue, priority, seq, id) WHERE state = 'ready';
CREATE INDEX IF NOT EXISTS messages_delayed ON {{S}}.messages (queue, not_before) WHERE state = 'delayed';
CREATE INDEX IF NOT EXISTS messages_inflight ON {{S}}.messages (queue, lease_until) WHERE state = 'inflight';
CREATE INDEX IF NOT EXISTS messages_state ON {{S}}.messages (queue, state, id);
CREATE TABLE IF NOT EXISTS {{S}}.keys (scope text NOT NULL, key text NOT NULL, id text NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE IF NOT EXISTS {{S}}.topics (name text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS {{S}}.subs (topic text NOT NULL, queue text NOT NULL, PRIMARY KEY (topic, queue));
-- Push order: every message draws one value (S.messages.seq); an id shows its last 16 bits.
-- Rows from version 2 have seq 0: among them, the id decides (as it did).
CREATE SEQUENCE IF NOT EXISTS {{S}}.id_seq;
ALTER SEQUENCE {{S}}.id_seq AS bigint NO MAXVALUE NO CYCLE;

CREATE OR REPLACE FUNCTION {{S}}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

-- sweep: expired leases and due delays back to ready (no daemon: claims, peeks and stats call
-- it). RACE: rows another transaction holds are skipped (SKIP LOCKED); it returns them later.
CREATE OR REPLACE FUNCTION {{S}}.sweep(q text, now bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE {{S}}.messages m SET state = 'ready', token = NULL, lease_until = NULL
  WHERE (m.queue, m.id) IN (SELECT queue, id FROM {{S}}.messages
    WHERE queue = q AND state = 'inflight' AND lease_until <= now LIMIT 500 FOR UPDATE SKIP LOCKED);
  UPDATE {{S}}.messages m SET state = 'ready', not_before = NULL
  WHERE (m.queue, m.id) IN (SELECT queue, id FROM {{S}}.messages
    WHERE queue = q AND state = 'delayed' AND not_before <= now LIMIT 500 FOR UPDATE SKIP LOCKED);
END $$;

-- push: a batch into queue q, or into every subscriber of topic q, in one transaction.
-- Returns one row per message: (status, id, state); status 'ok', 'dup' (the key is held: id is
-- the holder's, nothing written), 'full' (id: "depth/max" of the queue that is full,
-- nothing written), 'nosubs' (a topic without subscribers, nothing written).
-- RACE: a bounded queue's row is locked (FOR UPDATE) while its depth is counted and the batch
-- written, so two pushes cannot both take the last room; a key is an INSERT ... ON CONFLICT, so
-- of two pushes with one key exactly one writes.
CREATE OR REPLACE FUNCTION {{S}}.push(q text, node text, key_ttl bigint, k text, prios int[], delays bigint[], ttls bigint[], hdrs text[], bodies bytea[])
RETURNS TABLE (status text, id text, state text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now bigint := {{S}}.now_ms();
  targets text[];
  is_topic boolean;
  t text;
  ids text[] := '{}';
  seqs bigint[] := '{}';
  v bigint;
  n int := coalesce(array_length(bodies, 1), 0);
  d bigint;
  cfg record;
  holder text;
BEGIN
  is_topic := EXISTS (SELECT 1 FROM {{S}}.topics WHERE name = q);
  IF is_topic THEN
    SELECT array_agg(s.queue ORDER BY s.queue) INTO targets FROM {{S}}.subs s WHERE s.topic = q;
    IF targets IS NULL THEN RETURN QUERY SELECT 'nosubs'::text, ''::text, ''::text; RETURN; END IF;
  ELSE
    targets := ARRAY[q];
  END IF;
  FOREACH t IN ARRAY targets LOOP
    INSERT INTO {{S}}.queues (name) VALUES (t) ON CONFLICT DO NOTHING;
    SELECT * INTO cfg FROM {{S}}.queues WHERE name = t;
    IF cfg.max_depth IS NOT NULL THEN
      PERFORM 1 FROM {{S}}.queues WHERE name = t FOR UPDATE;
      SELECT count(*) INTO d FROM {{S}}.messages m WHERE m.queue = t AND m.state IN ('ready', 'delayed', 'inflight');
      IF d + n > cfg.max_depth THEN RETURN QUERY SELECT 'full'::text, t || '/' || d || '/' || cfg.max_depth, ''::text; RETURN; END IF;
    END IF;
  END LOOP;
  -- Ids: 12 hex digits of the ms clock, 4 of the push-order sequence, "-", the client's node.
  -- Claims order by the whole sequence value (seq), which never wraps.
  FOR i IN 1 .. n LOOP
    v := nextval('{{S}}.id_seq');
    seqs := seqs || v;
    ids := ids || (lpad(to_hex(now), 12, '0') || lpad(to_hex(v % 65536), 4, '0') || '-' || node);
  END LOOP;
  IF k IS NOT NULL THEN
    INSERT INTO {{S}}.keys AS x (scope, key, id, expires_at)
      VALUES (CASE WHEN is_topic THEN 'topic:' ELSE 'queue:' END || q, k, ids[1], now + key_ttl)
      ON CONFLICT (scope, key) DO UPDATE SET id = EXCLUDED.id, expires_at = EXCLUDED.expires_at WHERE x.expires_at <= now
      RETURNING x.id INTO holder;
    IF holder IS NULL THEN
      SELECT x.id INTO holder FROM {{S}}.keys x WHERE x.scope = CASE WHEN is_topic THEN 'topic:' ELSE 'queue:' END || q AND x.key = k;
      RETURN QUERY SELECT 'dup'::text, holder, 'ready'::text;
      RETURN;
    END IF;
  END IF;
  FOREACH t IN ARRAY targets LOOP
    INSERT INTO {{S}}.messages (queue, id, seq, body, priority, state, enqueued_at, not_before, expires_at, key, headers, topic)
    SELECT t, ids[i], seqs[i], bodies[i], prios[i], CASE WHEN delays[i] > 0 THEN 'delayed' ELSE 'ready' END, now,
      CASE WHEN delays[i] > 0 THEN now + delays[i] END, now + ttls[i], k, hdrs[i], CASE WHEN is_topic THEN q END
    FROM generate_series(1, n) i;
    PERFORM pg_notify('{{WAKE}}', t);
  END LOOP;
  RETURN QUERY SELECT 'ok'::text, ids[i], CASE WHEN delays[i] > 0 THEN 'delayed' ELSE 'ready' END FROM generate_series(1, n) i;
END $$;

-- claim: the next deliverable message of q under a fresh lease (token tok, lease ms, or the
-- queue's), as a row; no row when there is none (or the queue is paused). Sweeps first; picks
-- the priority with the highest rank (priority + whole minutes its oldest ready message has
-- waited; ties: the older), then its oldest message (push order: seq); dead-letters a message already delivered
-- max_attempts times (max_attempts) or past its expiry (expired) and picks again.
-- RACE: FOR UPDATE SKIP LOCKED: concurrent claims take different rows and never wait on each
-- other; the new token makes every earlier receipt of the message stale.
CREATE OR REPLACE FUNCTION {{S}}.claim(q text, tok text, lease bigint) RETURNS SETOF {{S}}.messages LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now bigint := {{S}}.now_ms();
  cfg record;
  p int;
  r {{S}}.messages;
  maxa int;
BEGIN
  SELECT * INTO cfg FROM {{S}}.queues WHERE name = q;
  IF NOT FOUND OR cfg.paused THEN RETURN; END IF;
  maxa := coalesce(cfg.max_attempts, {{DEFAULT_MAX_ATTEMPTS}});
  PERFORM {{S}}.sweep(q, now);
  LOOP
    r := NULL;
    FOR p IN
      -- Each priority's oldest ready message: one index probe per priority.
      SELECT g FROM generate_series(0, {{MAX_PRIORITY}}) g,
        LATERAL (SELECT m.seq, m.id, m.enqueued_at FROM {{S}}.messages m WHERE m.queue = q AND m.state = 'ready' AND m.priority = g ORDER BY m.seq, m.id LIMIT 1) h
      ORDER BY g + floor(greatest(0, now - h.enqueued_at) / {{AGING_MS}}) DESC, h.seq, h.id
    LOOP
      SELECT * INTO r FROM {{S}}.messages m WHERE m.queue = q AND m.state = 'ready' AND m.priority = p ORDER BY m.seq, m.id LIMIT 1 FOR UPDATE SKIP LOCKED;
      EXIT WHEN r.id IS NOT NULL;
    END LOOP;
    IF r.id IS NULL THEN RETURN; END IF;
    IF r.attempt >= maxa THEN
      UPDATE {{S}}.messages m SET state = 'dead', ended_at = now,
        reason = json_build_object('reason', 'max_attempts', 'attempts', r.attempt, 'at', now, 'lastError', 'its last delivery was not acked')::text
      WHERE m.queue = q AND m.id = r.id;
    ELSIF r.expires_at IS NOT NULL AND r.expires_at <= now THEN
      UPDATE {{S}}.messages m SET state = 'dead', ended_at = now,
        reason = json_build_object('reason', 'expired', 'attempts', r.attempt, 'at', now, 'lastError', 'expired before delivery')::text
      WHERE m.queue = q AND m.id = r.id;
    ELSE
      RETURN QUERY UPDATE {{S}}.messages m SET state = 'inflight', attempt = m.attempt + 1, token = tok,
        lease_until = now + coalesce(lease, cfg.lease_ms, {{DEFAULT_LEASE_MS}})
      WHERE m.queue = q AND m.id = r.id RETURNING m.*;
      RETURN;
    END IF;
  END LOOP;
END $$;

-- settle: ack ('ack'), release ('release'), renew ('renew') or dead-letter ('dead') the
-- delivery (q, i, tok) (tok '' for a bare id: whatever delivery of it is in flight). Returns
-- (status, at): status 'gone' (not in flight), 'lost:N' (claimed again since: attempt N),
-- or the outcome: 'done', 'ready', 'delayed' (at: when due), 'dead', 'renewed' (at: the new
-- deadline). A lease that ran out still settles until a claim takes the message back.
-- RACE: the row is locked (FOR UPDATE) while it is checked and changed: of a settle and a
-- claim racing for an expired lease, exactly one wins.
CREATE OR REPLACE FUNCTION {{S}}.settle(q text, i text, tok text, op text, lease bigint, uncount boolean, delay bigint, failure text)
RETURNS TABLE (status text, at bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now bigint := {{S}}.now_ms();
  r {{S}}.messages;
  maxa int;
BEGIN
  SELECT * INTO r FROM {{S}}.messages m WHERE m.queue = q AND m.id = i FOR UPDATE;
  IF r.id IS NULL OR r.state <> 'inflight' THEN RETURN QUERY SELECT 'gone'::text, 0::bigint; RETURN; END IF;
  IF tok <> '' AND r.token <> tok THEN RETURN QUERY SELECT 'lost:' || r.attempt, 0::bigint; RETURN; END IF;
  IF op = 'release' AND NOT uncount THEN
    SELECT coalesce(max_attempts, {{DEFAULT_MAX_ATTEMPTS}}) INTO maxa FROM {{S}}.queues WHERE name = q;
  END IF;
  IF op = 'ack' THEN
    UPDATE {{S}}.messages m SET state = 'done', ended_at = now, token = NULL, lease_until = NULL WHERE m.queue = q AND m.id = i;
    RETURN QUERY SELECT 'done'::text, now;
  ELSIF op = 'renew' THEN
    UPDATE {{S}}.messages m SET lease_until = now + coalesce(lease, (SELECT lease_ms FROM {{S}}.queues WHERE name = q), {{DEFAULT_LEASE_MS}})
      WHERE m.queue = q AND m.id = i RETURNING m.lease_until INTO at;
    RETURN QUERY SELECT 'renewed'::text, at;
  ELSIF op = 'dead' OR (op = 'release' AND NOT uncount AND r.attempt >= maxa) THEN
    UPDATE {{S}}.messages m SET state = 'dead', ended_at = now, token = NULL, lease_until = NULL,
      reason = (failure::jsonb || jsonb_build_object('reason', CASE WHEN op = 'dead' THEN 'rejected' ELSE 'max_attempts' END, 'attempts', r.attempt, 'at', now))::text
      WHERE m.queue = q AND m.id = i;
    RETURN QUERY SELECT 'dead'::text, now;
  ELSE
    UPDATE {{S}}.messages m SET token = NULL, lease_until = NULL,
      attempt = CASE WHEN uncount THEN greatest(0, m.attempt - 1) ELSE m.attempt END,
      state = CASE WHEN delay > 0 THEN 'delayed' ELSE 'ready' END,
      not_before = CASE WHEN delay > 0 THEN now + delay END
      WHERE m.queue = q AND m.id = i;
    PERFORM pg_notify('{{WAKE}}', q);
    RETURN QUERY SELECT CASE WHEN delay > 0 THEN 'delayed' ELSE 'ready' END, now + delay;
  END IF;
END $$;

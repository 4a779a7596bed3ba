-- The transitions that make messages deliverable and deliver them: sweep, push, claim. Each is
-- one function, so one statement from the client and one transaction; time is the server's.

-- sweep: expired leases and due delays back to ready (no daemon: claims, peeks and stats call
-- it). Each UPDATE runs only when an index probe finds a row due: most claims find none, and
-- an UPDATE that changes nothing still costs its statement trigger (5-counts.sql) and its
-- executor, about a third of a claim's work on the server (measured, perf).
-- RACE: rows another transaction holds are skipped (SKIP LOCKED); it returns them later. A
-- row that falls due after the probe waits for the next sweep, as it would after the UPDATE.
CREATE OR REPLACE FUNCTION {{S}}.sweep(q text, now bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM {{S}}.messages WHERE queue = q AND state = 'inflight' AND lease_until <= now) THEN
    UPDATE {{S}}.messages m SET state = 'ready', token = NULL, lease_until = NULL
    WHERE (m.queue, m.id) IN (SELECT queue, id FROM {{S}}.messages
      WHERE queue = q AND state = 'inflight' AND lease_until <= now LIMIT 500 FOR UPDATE SKIP LOCKED);
  END IF;
  IF EXISTS (SELECT 1 FROM {{S}}.messages WHERE queue = q AND state = 'delayed' AND not_before <= now) THEN
    UPDATE {{S}}.messages m SET state = 'ready', not_before = NULL
    WHERE (m.queue, m.id) IN (SELECT queue, id FROM {{S}}.messages
      WHERE queue = q AND state = 'delayed' AND not_before <= now LIMIT 500 FOR UPDATE SKIP LOCKED);
  END IF;
END $$;

-- push: a batch into queue q, or into every subscriber of topic q, in one transaction.
-- Returns one row per message: (status, id, state); status 'ok', 'dup' (the key is held: id is
-- the holder's, nothing written), 'full' (id: "depth/max" of the queue that is full,
-- nothing written), 'nosubs' (a topic without subscribers, nothing written).
-- att: the client's name for this push ('' none). A push that stored records its reply under
-- att (S.attempts); the same att sent again (the first reply was lost with the connection)
-- gets that reply back and stores nothing, whatever happened since (a claim, an ack).
-- RACE: a bounded queue's row is locked (FOR UPDATE) while its depth is counted and the batch
-- written, so two pushes cannot both take the last room; a key is an INSERT ... ON CONFLICT, so
-- of two pushes with one key exactly one writes. Two tries of one attempt (the first still
-- running when the second arrives) take a transaction lock on the attempt's name: the second
-- waits for the first to commit, then finds its record.
CREATE OR REPLACE FUNCTION {{S}}.push(q text, node text, key_ttl bigint, k text, prios int[], delays bigint[], ttls bigint[], hdrs text[], bodies bytea[], att text)
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
  IF att <> '' THEN
    PERFORM pg_advisory_xact_lock(hashtext('mq-attempt:' || att));
    IF EXISTS (SELECT 1 FROM {{S}}.attempts a WHERE a.attempt = att) THEN
      RETURN QUERY SELECT 'ok'::text, x.id, x.state FROM {{S}}.attempts a, unnest(a.ids, a.states) WITH ORDINALITY AS x(id, state, o)
        WHERE a.attempt = att ORDER BY x.o;
      RETURN;
    END IF;
    -- Records past their time go, a few per push, never waiting on another push's.
    DELETE FROM {{S}}.attempts WHERE attempt IN (SELECT a.attempt FROM {{S}}.attempts a WHERE a.at < now - {{ATTEMPT_TTL_MS}} LIMIT 16 FOR UPDATE SKIP LOCKED);
  END IF;
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
      d := {{S}}.count_of(t, ARRAY['ready', 'delayed', 'inflight']);
      IF d + n > cfg.max_depth THEN RETURN QUERY SELECT 'full'::text, t || '/' || d || '/' || cfg.max_depth, ''::text; RETURN; END IF;
    END IF;
  END LOOP;
  -- Ids: 12 hex digits of the ms clock, 4 of the push-order sequence, "-", the client's node.
  -- Claims order by the whole sequence value (seq), which never wraps. The i-th smallest value
  -- drawn is message i's, so a batch is claimed in its order. A batch of more than 65,536 would
  -- wrap the 4 digits within one ms: the ms part counts on by the sequence's 65,536s, so that
  -- two ids of one push never collide (the batch is one statement: all of it lands, or none).
  SELECT array_agg(x.s ORDER BY x.s) INTO seqs FROM (SELECT nextval('{{S}}.id_seq') AS s FROM generate_series(1, n)) x;
  IF n > 0 THEN
    v := seqs[1] / 65536;
    SELECT array_agg(lpad(to_hex(now + s / 65536 - v), 12, '0') || lpad(to_hex(s % 65536), 4, '0') || '-' || node ORDER BY s) INTO ids FROM unnest(seqs) s;
  END IF;
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
  -- The arrays are read side by side (unnest), each once: indexing them per row costs the
  -- square of a batch's size.
  FOREACH t IN ARRAY targets LOOP
    INSERT INTO {{S}}.messages (queue, id, seq, body, priority, state, enqueued_at, not_before, expires_at, key, headers, topic)
    SELECT t, a.id, a.seq, a.body, a.prio, CASE WHEN a.delay > 0 THEN 'delayed' ELSE 'ready' END, now,
      CASE WHEN a.delay > 0 THEN now + a.delay END, now + a.ttl, k, a.hdr, CASE WHEN is_topic THEN q END
    FROM unnest(ids, seqs, bodies, prios, delays, ttls, hdrs) AS a(id, seq, body, prio, delay, ttl, hdr);
    PERFORM pg_notify('{{WAKE}}', t);
  END LOOP;
  IF att <> '' THEN
    INSERT INTO {{S}}.attempts (attempt, at, ids, states)
      SELECT att, now, ids, coalesce(array_agg(CASE WHEN a.delay > 0 THEN 'delayed' ELSE 'ready' END ORDER BY a.o), '{}')
      FROM unnest(delays) WITH ORDINALITY AS a(delay, o);
  END IF;
  RETURN QUERY SELECT 'ok'::text, a.id, CASE WHEN a.delay > 0 THEN 'delayed' ELSE 'ready' END
    FROM unnest(ids, delays) WITH ORDINALITY AS a(id, delay, o) ORDER BY a.o;
END $$;

-- lease_for: the lease (ms) a claim or renewal of q grants when asked for lease (NULL: the
-- queue's, else the default). One rule for both, so that what the client is told it got is
-- what the row got. PL/pgSQL, not SQL: a SQL function with a subquery is not inlined, and
-- PostgreSQL parses and plans its body again at every call (fmgr_sql: a tenth of a worker's
-- ack-and-claim on the server, measured); PL/pgSQL keeps its plan for the session.
-- (claim applies the same rule to the queue's row it has already read.)
CREATE OR REPLACE FUNCTION {{S}}.lease_for(q text, lease bigint) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF lease IS NOT NULL THEN RETURN lease; END IF;
  RETURN coalesce((SELECT x.lease_ms FROM {{S}}.queues x WHERE x.name = q), {{DEFAULT_LEASE_MS}});
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
  granted bigint;
BEGIN
  SELECT * INTO cfg FROM {{S}}.queues WHERE name = q;
  IF NOT FOUND OR cfg.paused THEN RETURN; END IF;
  maxa := coalesce(cfg.max_attempts, {{DEFAULT_MAX_ATTEMPTS}});
  granted := coalesce(lease, cfg.lease_ms, {{DEFAULT_LEASE_MS}}); -- lease_for's rule, on the row read above
  PERFORM {{S}}.sweep(q, now);
  -- One claim in a hundred folds the queue's count rows (5-counts.sql), so they stay few.
  IF random() < 0.01 THEN PERFORM {{S}}.counts_fold(q); END IF;
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
        lease_until = now + granted
      WHERE m.queue = q AND m.id = r.id RETURNING m.*;
      RETURN;
    END IF;
  END LOOP;
END $$;


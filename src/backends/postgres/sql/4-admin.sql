-- Inspection and administration: one function each, so that every statement the engine sends
-- has its contract here, next to the tables. The queue layer (src/queue.ts) has checked that
-- the queue exists where the contract needs it; these functions do not check again.

-- claim_look: why a claim found nothing: (paused, due_in): whether q is paused, and how long
-- (ms, on the server's clock) until its next delayed message falls due or lease runs out (NULL:
-- none). Read-only; a racing change only makes the waiter look again sooner or later.
CREATE OR REPLACE FUNCTION {{S}}.claim_look(q text) RETURNS TABLE (paused boolean, due_in bigint) LANGUAGE sql STABLE AS $$
  SELECT (SELECT x.paused FROM {{S}}.queues x WHERE x.name = q), CASE WHEN due IS NOT NULL THEN greatest(0, due - {{S}}.now_ms()) END
  FROM (SELECT min(t) AS due FROM (SELECT min(not_before) t FROM {{S}}.messages WHERE queue = q AND state = 'delayed'
        UNION ALL SELECT min(lease_until) FROM {{S}}.messages WHERE queue = q AND state = 'inflight') x) d
$$;

-- peek: up to lim messages of q in state st, in the order they would be delivered (ready:
-- priority, then push order; delayed: due time; in flight: lease end) or were settled (id),
-- with their bodies when asked. Sweeps first, so that a due message shows as ready.
-- RACE: a snapshot; rows another transaction is changing show as they were.
CREATE OR REPLACE FUNCTION {{S}}.peek(q text, st text, lim int, bodies boolean)
RETURNS TABLE (queue text, id text, body bytea, size int, priority smallint, attempt int, state text, enqueued_at bigint, not_before bigint,
               lease_until bigint, expires_at bigint, key text, headers text, topic text, reason text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM {{S}}.sweep(q, {{S}}.now_ms());
  IF st = 'ready' THEN
    -- Each priority's head through the ready index (a probe each, LIMIT rows at most), then
    -- merged: sorting every ready row by (priority DESC, seq) cost O(backlog) (0.5 s at 1M).
    RETURN QUERY SELECT x.queue, x.id, CASE WHEN bodies THEN x.body END, octet_length(x.body), x.priority, x.attempt, x.state, x.enqueued_at, x.not_before,
        x.lease_until, x.expires_at, x.key, x.headers, x.topic, x.reason
      FROM generate_series({{MAX_PRIORITY}}, 0, -1) g,
        LATERAL (SELECT * FROM {{S}}.messages m WHERE m.queue = q AND m.state = 'ready' AND m.priority = g ORDER BY m.seq, m.id LIMIT lim) x
      ORDER BY x.priority DESC, x.seq, x.id LIMIT lim;
    RETURN;
  END IF;
  RETURN QUERY EXECUTE format(
    'SELECT queue, id, CASE WHEN $4 THEN body END, octet_length(body), priority, attempt, state, enqueued_at, not_before, lease_until,
            expires_at, key, headers, topic, reason
     FROM {{S}}.messages WHERE queue = $1 AND state = $2 ORDER BY %s LIMIT $3',
    CASE st WHEN 'ready' THEN 'priority DESC, seq, id' WHEN 'delayed' THEN 'not_before, id' WHEN 'inflight' THEN 'lease_until, id' ELSE 'id' END)
  USING q, st, lim, bodies;
END $$;

-- stats: q's counts per state, the age of its oldest ready message (ms, NULL when none) and
-- whether it is paused. Sweeps first.
-- RACE: one snapshot: the counts add up to what one moment held.
CREATE OR REPLACE FUNCTION {{S}}.stats(q text)
RETURNS TABLE (ready bigint, inflight bigint, delayed bigint, done bigint, dead bigint, age bigint, paused boolean) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM {{S}}.sweep(q, {{S}}.now_ms());
  -- The counts from S.counts (5-counts.sql), the oldest ready message from each priority's head.
  PERFORM {{S}}.count_of(q, '{}');
  RETURN QUERY
    SELECT coalesce(sum(c.delta) FILTER (WHERE c.state = 'ready'), 0)::bigint, coalesce(sum(c.delta) FILTER (WHERE c.state = 'inflight'), 0)::bigint,
           coalesce(sum(c.delta) FILTER (WHERE c.state = 'delayed'), 0)::bigint, coalesce(sum(c.delta) FILTER (WHERE c.state = 'done'), 0)::bigint,
           coalesce(sum(c.delta) FILTER (WHERE c.state = 'dead'), 0)::bigint,
           (SELECT {{S}}.now_ms() - min(h.enqueued_at) FROM generate_series(0, {{MAX_PRIORITY}}) g,
              LATERAL (SELECT m.enqueued_at FROM {{S}}.messages m WHERE m.queue = q AND m.state = 'ready' AND m.priority = g ORDER BY m.seq, m.id LIMIT 1) h),
           coalesce((SELECT x.paused FROM {{S}}.queues x WHERE x.name = q), false)
    FROM {{S}}.counts c WHERE c.queue = q;
END $$;

-- queue_names: every queue (pushed to, subscribed or configured), in byte order.
CREATE OR REPLACE FUNCTION {{S}}.queue_names() RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT name FROM {{S}}.queues ORDER BY name COLLATE "C"
$$;

-- queue_exists: whether q is a queue. Queues are never removed, so a true answer stays true.
CREATE OR REPLACE FUNCTION {{S}}.queue_exists(q text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM {{S}}.queues WHERE name = q)
$$;

-- get_config: q's config as set (NULL: the default, or no bound).
CREATE OR REPLACE FUNCTION {{S}}.get_config(q text) RETURNS TABLE (max_depth bigint, max_attempts int, lease_ms bigint) LANGUAGE sql STABLE AS $$
  SELECT x.max_depth, x.max_attempts, x.lease_ms FROM {{S}}.queues x WHERE x.name = q
$$;

-- set_config: q made if need be, then its config changed by patch (a JSON object of maxDepth,
-- maxAttempts, leaseMs: a number sets one, null removes it, an absent one stays). Returns the
-- config as it is now.
-- RACE: one UPDATE: two changes of different fields both land; of two of one field, the later.
CREATE OR REPLACE FUNCTION {{S}}.set_config(q text, patch jsonb)
RETURNS TABLE (max_depth bigint, max_attempts int, lease_ms bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO {{S}}.queues (name) VALUES (q) ON CONFLICT DO NOTHING;
  RETURN QUERY UPDATE {{S}}.queues x SET
      max_depth = CASE WHEN patch ? 'maxDepth' THEN (patch->>'maxDepth')::bigint ELSE x.max_depth END,
      max_attempts = CASE WHEN patch ? 'maxAttempts' THEN (patch->>'maxAttempts')::int ELSE x.max_attempts END,
      lease_ms = CASE WHEN patch ? 'leaseMs' THEN (patch->>'leaseMs')::bigint ELSE x.lease_ms END
    WHERE x.name = q RETURNING x.max_depth, x.max_attempts, x.lease_ms;
END $$;

-- pause: q's claims yield nothing until resume (pushes still land).
CREATE OR REPLACE FUNCTION {{S}}.pause(q text) RETURNS void LANGUAGE sql AS $$
  UPDATE {{S}}.queues SET paused = true WHERE name = q
$$;

-- resume: q's claims deliver again; returns whether it was paused. Wakes waiting claims.
-- RACE: the flag changes in one UPDATE; the wake-up goes out when it commits.
CREATE OR REPLACE FUNCTION {{S}}.resume(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  was boolean;
BEGIN
  UPDATE {{S}}.queues SET paused = false WHERE name = q AND paused RETURNING true INTO was;
  PERFORM pg_notify('{{WAKE}}', q);
  RETURN coalesce(was, false);
END $$;

-- purge: q's messages in the given states deleted (never those in flight: they belong to their
-- consumers). Sweeps first, so an expired lease is purged as ready. Returns (state, n).
-- RACE: rows a claim has locked are taken by whichever commits first: a message is either
-- delivered or purged, once.
CREATE OR REPLACE FUNCTION {{S}}.purge(q text, states text[]) RETURNS TABLE (state text, n bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM {{S}}.sweep(q, {{S}}.now_ms());
  RETURN QUERY WITH d AS (DELETE FROM {{S}}.messages m WHERE m.queue = q AND m.state = ANY(states) AND m.state <> 'inflight' RETURNING m.state)
    SELECT d.state, count(*) FROM d GROUP BY d.state;
END $$;

-- requeue: q's dead letters (all, or those of ids) back to ready, delivery count reset; a
-- message whose expiry has passed comes back without it. Returns (id, cleared) in id order.
-- Wakes waiting claims.
-- RACE: the dead rows are locked (FOR UPDATE) while they move.
CREATE OR REPLACE FUNCTION {{S}}.requeue(q text, ids text[]) RETURNS TABLE (id text, cleared boolean) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now bigint := {{S}}.now_ms();
BEGIN
  RETURN QUERY
    WITH o AS (SELECT m.id, coalesce(m.expires_at <= now, false) AS cleared FROM {{S}}.messages m
               WHERE m.queue = q AND m.state = 'dead' AND (ids IS NULL OR m.id = ANY(ids)) FOR UPDATE),
    u AS (UPDATE {{S}}.messages m SET state = 'ready', attempt = 0, reason = NULL, ended_at = NULL, last_failure = NULL,
            expires_at = CASE WHEN o.cleared THEN NULL ELSE m.expires_at END
          FROM o WHERE m.queue = q AND m.id = o.id RETURNING m.id, o.cleared)
    SELECT u.id, u.cleared FROM u ORDER BY u.id COLLATE "C";
  PERFORM pg_notify('{{WAKE}}', q);
END $$;

-- gc: q's done messages older than done_older ms deleted, and its idempotency keys that have
-- expired. Returns (done, keys): how many of each.
CREATE OR REPLACE FUNCTION {{S}}.gc(q text, done_older bigint) RETURNS TABLE (done bigint, keys bigint) LANGUAGE plpgsql AS $$
DECLARE
  now bigint := {{S}}.now_ms();
  d bigint;
  k bigint;
BEGIN
  DELETE FROM {{S}}.messages WHERE queue = q AND state = 'done' AND ended_at <= now - done_older;
  GET DIAGNOSTICS d = ROW_COUNT;
  DELETE FROM {{S}}.keys WHERE scope = 'queue:' || q AND expires_at <= now;
  GET DIAGNOSTICS k = ROW_COUNT;
  RETURN QUERY SELECT d, k;
END $$;

-- subscribe: pushes to topic t reach queue q too from the next push on (both made if need
-- be); returns false when they already did.
-- RACE: INSERT ... ON CONFLICT: of two racing subscribes, one says true.
CREATE OR REPLACE FUNCTION {{S}}.subscribe(t text, q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  made int;
BEGIN
  INSERT INTO {{S}}.topics VALUES (t) ON CONFLICT DO NOTHING;
  INSERT INTO {{S}}.queues (name) VALUES (q) ON CONFLICT DO NOTHING;
  INSERT INTO {{S}}.subs VALUES (t, q) ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS made = ROW_COUNT;
  RETURN made > 0;
END $$;

-- unsubscribe: q no longer gets t's pushes; returns false when it did not.
CREATE OR REPLACE FUNCTION {{S}}.unsubscribe(t text, q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  gone int;
BEGIN
  DELETE FROM {{S}}.subs WHERE topic = t AND queue = q;
  GET DIAGNOSTICS gone = ROW_COUNT;
  RETURN gone > 0;
END $$;

-- subscribers: (is_topic, queues): whether t is a topic, and its subscribers in byte order.
CREATE OR REPLACE FUNCTION {{S}}.subscribers(t text) RETURNS TABLE (is_topic boolean, queues text[]) LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM {{S}}.topics WHERE name = t),
         coalesce((SELECT array_agg(s.queue ORDER BY s.queue COLLATE "C") FROM {{S}}.subs s WHERE s.topic = t), '{}')
$$;

-- topic_names: every topic, in byte order.
CREATE OR REPLACE FUNCTION {{S}}.topic_names() RETURNS SETOF text LANGUAGE sql STABLE AS $$
  SELECT name FROM {{S}}.topics ORDER BY name COLLATE "C"
$$;

-- show: one message of q by id, in whatever state, as peek gives each (its body when asked);
-- no row when q has none with that id. Sweeps first, so a due message shows as ready.
CREATE OR REPLACE FUNCTION {{S}}.show(q text, i text, bodies boolean)
RETURNS TABLE (queue text, id text, body bytea, size int, priority smallint, attempt int, state text, enqueued_at bigint, not_before bigint,
               lease_until bigint, expires_at bigint, key text, headers text, topic text, reason text, ended_at bigint, last_failure text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM {{S}}.sweep(q, {{S}}.now_ms());
  RETURN QUERY SELECT m.queue, m.id, CASE WHEN bodies THEN m.body END, octet_length(m.body), m.priority, m.attempt, m.state, m.enqueued_at,
    m.not_before, m.lease_until, m.expires_at, m.key, m.headers, m.topic, m.reason, m.ended_at, CASE WHEN m.state IN ('ready', 'delayed', 'inflight') THEN m.last_failure END
    FROM {{S}}.messages m WHERE m.queue = q AND m.id = i;
END $$;

-- cancel: deletes q's messages of ids that are ready or delayed; returns (id, outcome) for each
-- id: 'cancelled', the state that refused it ('inflight', 'dead', 'done'), or 'unknown'.
-- Sweeps first (a due delay is ready: still cancelled). A key the message held lasts until it
-- expires, as after purge.
-- RACE: a claim holding the row's lock makes the DELETE wait; the row, in flight by then, no
-- longer matches, and is reported in flight: a message is either cancelled or delivered.
CREATE OR REPLACE FUNCTION {{S}}.cancel(q text, ids text[]) RETURNS TABLE (id text, outcome text) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  gone text[];
BEGIN
  PERFORM {{S}}.sweep(q, {{S}}.now_ms());
  WITH d AS (DELETE FROM {{S}}.messages m WHERE m.queue = q AND m.id = ANY(ids) AND m.state IN ('ready', 'delayed') RETURNING m.id)
    SELECT coalesce(array_agg(d.id), '{}') INTO gone FROM d;
  RETURN QUERY SELECT x.i, CASE WHEN x.i = ANY(gone) THEN 'cancelled' ELSE coalesce(m.state, 'unknown') END
    FROM unnest(ids) WITH ORDINALITY AS x(i, o) LEFT JOIN {{S}}.messages m ON m.queue = q AND m.id = x.i ORDER BY x.o;
END $$;

-- drop: deletes up to lim of q's messages per call, and returns how many; the client calls it
-- until it returns less than lim. The call that finds none left deletes the queue itself: its
-- row (config, pause), its keys, its subscriptions.
-- RACE: each call is one transaction; a message pushed between calls is deleted by a later one;
-- a push after the last makes a new, empty queue (its row made again).
CREATE OR REPLACE FUNCTION {{S}}.drop(q text, lim int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  WITH d AS (DELETE FROM {{S}}.messages m WHERE (m.queue, m.id) IN (SELECT x.queue, x.id FROM {{S}}.messages x WHERE x.queue = q LIMIT lim) RETURNING 1)
    SELECT count(*) INTO n FROM d;
  IF n < lim THEN
    DELETE FROM {{S}}.keys WHERE scope = 'queue:' || q;
    DELETE FROM {{S}}.subs WHERE queue = q;
    DELETE FROM {{S}}.queues WHERE name = q;
  END IF;
  RETURN n;
END $$;

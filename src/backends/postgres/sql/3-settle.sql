-- The four settles of a delivery: ack, release, renew, dead-letter. Each names the delivery
-- (q, i, tok): tok is the claim's token, '' for a bare message id (whatever delivery of it is
-- in flight). Each returns one row whose status is 'gone' (the message is not in flight),
-- 'lost:N' (claimed again since: attempt N), or its outcome. A lease that ran out still
-- settles until a claim takes the message back (a late ack is still an ack).
-- (Schema version 3's settle(op), the four in one, and version 4's ack(q, i, tok) are left in
-- older databases for processes still running those versions; nothing of this version calls them.)

-- held: whether (q, i, tok) is in flight now: 'ok', 'gone' or 'lost:N'; the row stays locked
-- for the rest of the caller's transaction.
-- RACE: FOR UPDATE: a settle and a claim racing for an expired lease queue on the row's lock;
-- the claim's new token makes the settle 'lost', or the settle's change makes the row no
-- longer ready for the claim: exactly one wins.
CREATE OR REPLACE FUNCTION {{S}}.held(q text, i text, tok text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT m.state, m.token, m.attempt INTO r FROM {{S}}.messages m WHERE m.queue = q AND m.id = i FOR UPDATE;
  IF NOT FOUND OR r.state <> 'inflight' THEN RETURN 'gone'; END IF;
  IF tok <> '' AND r.token IS DISTINCT FROM tok THEN RETURN 'lost:' || r.attempt; END IF;
  RETURN 'ok';
END $$;

-- ack: the delivery is finished: the message is done (kept until gc). Returns (status, at):
-- 'done' and when. The done row keeps the delivery's token: the same ack sent again because
-- the first one's reply was lost with the connection (again: the client says so) answers
-- 'done' again, while any other second ack of the receipt is 'gone', as a double ack must be.
-- One UPDATE when the delivery is in flight (the common case); held says why when it is not.
-- RACE: the UPDATE takes the row's lock: a claim racing for an expired lease either commits
-- first (the UPDATE, re-checking the row after the lock, finds another token and changes
-- nothing: held then says 'lost:N') or waits for the ack and finds the message done.
CREATE OR REPLACE FUNCTION {{S}}.ack(q text, i text, tok text, again boolean) RETURNS TABLE (status text, at bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now bigint := {{S}}.now_ms();
  st text;
BEGIN
  UPDATE {{S}}.messages m SET state = 'done', ended_at = now, lease_until = NULL
    WHERE m.queue = q AND m.id = i AND m.state = 'inflight' AND (tok = '' OR m.token = tok);
  IF FOUND THEN RETURN QUERY SELECT 'done'::text, now; RETURN; END IF;
  st := {{S}}.held(q, i, tok);
  IF st = 'gone' AND again AND tok <> '' THEN
    RETURN QUERY SELECT 'done'::text, m.ended_at FROM {{S}}.messages m WHERE m.queue = q AND m.id = i AND m.state = 'done' AND m.token = tok;
    IF FOUND THEN RETURN; END IF;
  END IF;
  IF st = 'ok' THEN
    -- In flight after all (held read a later commit than the UPDATE's): the row is locked now.
    UPDATE {{S}}.messages m SET state = 'done', ended_at = now, lease_until = NULL WHERE m.queue = q AND m.id = i;
    RETURN QUERY SELECT 'done'::text, now;
    RETURN;
  END IF;
  RETURN QUERY SELECT st, 0::bigint;
END $$;

-- release: the delivery is given back: ready now, or delayed for delay ms; uncounted (it does
-- not count toward max_attempts, and never dead-letters); or, counted, when it was the queue's
-- last allowed delivery, dead-lettered (reason max_attempts, with failure's facts) instead.
-- Returns (status, at): 'ready', 'delayed' (at: when due) or 'dead'. Wakes waiting claims.
-- RACE: as held; the queue's max_attempts is read in the same transaction.
CREATE OR REPLACE FUNCTION {{S}}.release(q text, i text, tok text, uncount boolean, delay bigint, failure text)
RETURNS TABLE (status text, at bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  st text := {{S}}.held(q, i, tok);
  now bigint := {{S}}.now_ms();
  maxa int;
  tries int;
BEGIN
  IF st <> 'ok' THEN RETURN QUERY SELECT st, 0::bigint; RETURN; END IF;
  IF NOT uncount THEN
    SELECT coalesce(max_attempts, {{DEFAULT_MAX_ATTEMPTS}}) INTO maxa FROM {{S}}.queues WHERE name = q;
    SELECT m.attempt INTO tries FROM {{S}}.messages m WHERE m.queue = q AND m.id = i;
    IF tries >= maxa THEN
      UPDATE {{S}}.messages m SET state = 'dead', ended_at = now, token = NULL, lease_until = NULL,
        reason = (failure::jsonb || jsonb_build_object('reason', 'max_attempts', 'attempts', tries, 'at', now))::text
        WHERE m.queue = q AND m.id = i;
      RETURN QUERY SELECT 'dead'::text, now;
      RETURN;
    END IF;
  END IF;
  UPDATE {{S}}.messages m SET token = NULL, lease_until = NULL,
    last_failure = CASE WHEN failure NOT IN ('', '{}') THEN (failure::jsonb || jsonb_build_object('at', now))::text ELSE m.last_failure END,
    attempt = CASE WHEN uncount THEN greatest(0, m.attempt - 1) ELSE m.attempt END,
    state = CASE WHEN delay > 0 THEN 'delayed' ELSE 'ready' END,
    not_before = CASE WHEN delay > 0 THEN now + delay END
    WHERE m.queue = q AND m.id = i;
  PERFORM pg_notify('{{WAKE}}', q);
  RETURN QUERY SELECT CASE WHEN delay > 0 THEN 'delayed' ELSE 'ready' END, now + greatest(delay, 0);
END $$;

-- renew: the lease runs on to the server's now + lease ms (NULL: the queue's lease). Returns
-- (status, at, lease_ms): 'renewed', the new deadline, and the lease granted as a duration
-- (what the consumer renews with next: never a deadline on its own clock).
-- RACE: as held.
CREATE OR REPLACE FUNCTION {{S}}.renew(q text, i text, tok text, lease bigint)
RETURNS TABLE (status text, at bigint, lease_ms bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  st text := {{S}}.held(q, i, tok);
  granted bigint := {{S}}.lease_for(q, lease);
  until bigint;
BEGIN
  IF st <> 'ok' THEN RETURN QUERY SELECT st, 0::bigint, 0::bigint; RETURN; END IF;
  UPDATE {{S}}.messages m SET lease_until = {{S}}.now_ms() + granted WHERE m.queue = q AND m.id = i RETURNING m.lease_until INTO until;
  RETURN QUERY SELECT 'renewed'::text, until, granted;
END $$;

-- dead_letter: the delivery is dead-lettered now (reason rejected), keeping failure's facts.
-- Returns (status, at): 'dead' and when.
-- RACE: as held.
CREATE OR REPLACE FUNCTION {{S}}.dead_letter(q text, i text, tok text, failure text)
RETURNS TABLE (status text, at bigint) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  st text := {{S}}.held(q, i, tok);
  now bigint := {{S}}.now_ms();
BEGIN
  IF st <> 'ok' THEN RETURN QUERY SELECT st, 0::bigint; RETURN; END IF;
  UPDATE {{S}}.messages m SET state = 'dead', ended_at = now, token = NULL, lease_until = NULL,
    reason = (failure::jsonb || jsonb_build_object('reason', 'rejected', 'attempts', m.attempt, 'at', now))::text
    WHERE m.queue = q AND m.id = i;
  RETURN QUERY SELECT 'dead'::text, now;
END $$;

-- claim_after: claim (as claim, with its RACE notes) only when st is 'done': the second half of
-- a worker's ack-and-claim, one statement in ../index.ts (ackAndClaim) whose first half is ack:
--   SELECT ... FROM ack(q, i, tok, false) a LEFT JOIN LATERAL claim_after(a.status, q, ntok, lease) c ON true
-- The lateral reference makes the ack run first; one statement is one transaction, so the two
-- cost one round trip and one commit where a worker paid two of each (BullMQ's moveToFinished).
-- RACE: the acked message is no longer ready, so the claim cannot take it back; an ack that was
-- refused ('gone', 'lost:N') claims nothing, and the worker settles as after a refused ack.
-- ROWS 1 (here and on ack): each returns one row at most. Left at the default estimate (1000
-- each), the statement's plan costs past jit_above_cost and PostgreSQL JIT-compiles it at every
-- execution: ~10 ms of the server's CPU per message, measured (EXPLAIN ANALYZE).
CREATE OR REPLACE FUNCTION {{S}}.claim_after(st text, q text, tok text, lease bigint) RETURNS SETOF {{S}}.messages LANGUAGE plpgsql ROWS 1 AS $$
BEGIN
  IF st <> 'done' THEN RETURN; END IF;
  RETURN QUERY SELECT * FROM {{S}}.claim(q, tok, lease);
END $$;
ALTER FUNCTION {{S}}.ack(text, text, text, boolean) ROWS 1;

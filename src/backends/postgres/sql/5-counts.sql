-- Counts per queue and state, kept as they change, so that stats and a bounded push read a few
-- rows instead of counting messages (O(1) in the backlog, not O(n)).
--
-- Every statement that inserts, deletes or changes the state of messages adds, through the
-- statement triggers below, one row per (queue, state) it changed to S.counts: the change
-- (delta), in the same transaction as the change itself, so a count is exact the moment the
-- change commits, and never counts what rolled back. Rows are only ever inserted by
-- transitions: concurrent transitions never wait on one another for a count (an upsert of one
-- row per queue and state would make every claim of a queue queue behind the last).
-- counts_fold folds a queue's rows into one per state: stats and the bound call it when there
-- are many, and about one claim in a hundred, so the rows of a queue nobody looks at stay few.
-- RACE: one fold of a queue at a time (a transaction's advisory lock, tried, never waited
-- for: a fold that finds another running skips, so folds never deadlock nor slow a claim);
-- the DELETE takes each row once, and the fold inserts the sum of what it deleted: nothing is
-- counted twice, nor lost.
CREATE TABLE IF NOT EXISTS {{S}}.counts (queue text NOT NULL, state text NOT NULL, delta bigint NOT NULL);
CREATE INDEX IF NOT EXISTS counts_queue ON {{S}}.counts (queue, state);

CREATE OR REPLACE FUNCTION {{S}}.counts_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{S}}.counts (queue, state, delta) SELECT n.queue, n.state, count(*) FROM new_rows n GROUP BY n.queue, n.state;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {{S}}.counts_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{S}}.counts (queue, state, delta) SELECT o.queue, o.state, -count(*) FROM old_rows o GROUP BY o.queue, o.state;
  RETURN NULL;
END $$;

-- An UPDATE that leaves every state as it was (a renewal) adds nothing.
CREATE OR REPLACE FUNCTION {{S}}.counts_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {{S}}.counts (queue, state, delta)
    SELECT x.queue, x.state, sum(x.d) FROM (
      SELECT o.queue, o.state, -1 AS d FROM old_rows o
      UNION ALL SELECT n.queue, n.state, 1 FROM new_rows n) x
    GROUP BY x.queue, x.state HAVING sum(x.d) <> 0;
  RETURN NULL;
END $$;

CREATE OR REPLACE TRIGGER counts_ins AFTER INSERT ON {{S}}.messages REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {{S}}.counts_ins();
CREATE OR REPLACE TRIGGER counts_del AFTER DELETE ON {{S}}.messages REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {{S}}.counts_del();
CREATE OR REPLACE TRIGGER counts_upd AFTER UPDATE ON {{S}}.messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {{S}}.counts_upd();

-- A schema brought up from before counts: its messages counted once, when the triggers are new.
-- RACE: a process of the older version writing meanwhile: the table is locked against writes
-- until the install commits (with the triggers), so no change is counted twice or missed.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM {{S}}.counts) THEN
    LOCK TABLE {{S}}.messages IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO {{S}}.counts (queue, state, delta) SELECT m.queue, m.state, count(*) FROM {{S}}.messages m GROUP BY m.queue, m.state;
  END IF;
END $$;

-- counts_fold: q's rows folded into one per state (those that are not zero).
CREATE OR REPLACE FUNCTION {{S}}.counts_fold(q text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('mq-fold:{{S}}:' || q)) THEN RETURN; END IF;
  WITH d AS (DELETE FROM {{S}}.counts c WHERE c.queue = q RETURNING c.state, c.delta)
  INSERT INTO {{S}}.counts (queue, state, delta) SELECT q, d.state, sum(d.delta) FROM d GROUP BY d.state HAVING sum(d.delta) <> 0;
END $$;

-- count_of: q's messages in the given states, from S.counts (folded first when it has many rows).
CREATE OR REPLACE FUNCTION {{S}}.count_of(q text, states text[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  IF (SELECT count(*) FROM (SELECT 1 FROM {{S}}.counts c WHERE c.queue = q LIMIT 64) x) >= 64 THEN PERFORM {{S}}.counts_fold(q); END IF;
  SELECT coalesce(sum(c.delta), 0) INTO n FROM {{S}}.counts c WHERE c.queue = q AND c.state = ANY(states);
  RETURN n;
END $$;

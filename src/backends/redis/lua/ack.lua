-- ack: finishes a delivery: the message is deleted, the queue's done count raised, and its id
-- remembered among the queue's last {{ACKED_KEPT}} acks (for mq wait, show).
-- ARGV: id, token ('' a bare id: whatever delivery of it is in flight).
-- Returns {'ok'}, {'gone'} (not in flight) or {'lost', attempt} (claimed again since).
-- A lease that ran out still acks until a claim takes the message back (as on the spool).
-- RACE: the token check and the delete are one script: of an ack and a claim racing for an
-- expired lease, exactly one wins.
local mk, why = held(ARGV[1], ARGV[2])
if not mk then return why end
redis.call('DEL', mk)
redis.call('ZREM', INFL, ARGV[1])
redis.call('HINCRBY', META, 'done', 1)
local now = now_ms()
redis.call('ZADD', ACKED, now, ARGV[1])
redis.call('ZREMRANGEBYRANK', ACKED, 0, -{{ACKED_KEPT}} - 1)
return {'ok'}

-- ack_delivery(id, tok): finishes a delivery: the message is deleted, the queue's done count
-- raised, and its id remembered among the queue's last {{ACKED_KEPT}} acks (for mq wait).
-- Returns {'ok'}, {'gone'} (not in flight) or {'lost', attempt} (claimed again since). A lease
-- that ran out still acks until a claim takes the message back (as on the spool).
-- RACE: the token check and the delete are one script: of an ack and a claim racing for an
-- expired lease, exactly one wins.
local function ack_delivery(id, tok)
  local mk, why = held(id, tok)
  if not mk then return why end
  redis.call('DEL', mk)
  redis.call('ZREM', INFL, id)
  redis.call('HINCRBY', META, 'done', 1)
  redis.call('ZADD', ACKED, now_ms(), id)
  redis.call('ZREMRANGEBYRANK', ACKED, 0, -{{ACKED_KEPT}} - 1)
  return {'ok'}
end

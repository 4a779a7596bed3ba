-- cancel: removes the messages of ARGV (ids) that are ready or delayed; returns {id, outcome,
-- ...}: 'cancelled', 'inflight', 'dead', 'done' (refused, with the state that stopped it) or
-- 'unknown'. Sweeps first (a due delay is ready: still cancelled). An idempotency key the
-- message held lasts until it expires, as after purge.
-- RACE: one script: of a claim and a cancel of one message, exactly one takes it.
sweep(now_ms())
local out = {}
for _, id in ipairs(ARGV) do
  local outcome
  if redis.call('ZREM', READY, id) == 1 or redis.call('ZREM', DELAY, id) == 1 then
    redis.call('DEL', mkey(id))
    outcome = 'cancelled'
  elseif redis.call('ZSCORE', INFL, id) then outcome = 'inflight'
  elseif redis.call('ZSCORE', DEAD, id) then outcome = 'dead'
  elseif redis.call('ZSCORE', ACKED, id) then outcome = 'done'
  else outcome = 'unknown' end
  out[#out + 1] = id
  out[#out + 1] = outcome
end
return out

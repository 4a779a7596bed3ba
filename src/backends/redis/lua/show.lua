-- show: one message by id (ARGV[1]), in whatever state: {state, id, field, value, ...} as peek
-- gives each message (its body only when ARGV[2] is '1'); {'done', id, 'ended', ms} for one
-- acked among the last {{ACKED_KEPT}} (its hash is gone: nothing else is known); {} for none.
-- Sweeps first, so an expired lease or a due delay shows as ready.
sweep(now_ms())
local id = ARGV[1]
local state
if redis.call('ZSCORE', READY, id) then state = 'ready'
elseif redis.call('ZSCORE', DELAY, id) then state = 'delayed'
elseif redis.call('ZSCORE', INFL, id) then state = 'inflight'
elseif redis.call('ZSCORE', DEAD, id) then state = 'dead'
else
  local acked = redis.call('ZSCORE', ACKED, id)
  if acked then return {'done', id, 'ended', acked} end
  return {}
end
local f = message_fields(id, ARGV[2] == '1')
if #f == 0 then return {} end
table.insert(f, 1, id)
table.insert(f, 1, state)
return f

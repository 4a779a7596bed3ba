-- peek: sweeps, then up to ARGV[2] messages of state ARGV[1] in delivery order, each as
-- {id, field, value, ...}; bodies only when ARGV[3] is '1'. Fewer when some were evicted.
sweep(now_ms())
local state, limit = ARGV[1], tonumber(ARGV[2])
local ids = {}
if state == 'ready' then ids = redis.call('ZRANGE', READY, 0, limit - 1)
elseif state == 'delayed' then ids = redis.call('ZRANGE', DELAY, 0, limit - 1)
elseif state == 'inflight' then ids = redis.call('ZRANGE', INFL, 0, limit - 1)
elseif state == 'dead' then ids = redis.call('ZRANGE', DEAD, 0, limit - 1)
end
local out = {}
for _, id in ipairs(ids) do
  local f = message_fields(id, ARGV[3] == '1')
  -- An id whose hash was evicted shows nothing (a claim drops and counts it: claim.lua).
  if #f > 0 then
    table.insert(f, 1, id)
    out[#out + 1] = f
  end
end
return out

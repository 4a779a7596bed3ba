-- fates: what became of each id of ARGV: 'pending' (ready, delayed or in flight), 'dead',
-- 'done' (acked among the last {{ACKED_KEPT}}), or 'unknown'; one word per id, in order.
local out = {}
for i, id in ipairs(ARGV) do
  if redis.call('ZSCORE', READY, id) or redis.call('ZSCORE', DELAY, id) or redis.call('ZSCORE', INFL, id) then out[i] = 'pending'
  elseif redis.call('ZSCORE', DEAD, id) then out[i] = 'dead'
  elseif redis.call('ZSCORE', ACKED, id) then out[i] = 'done'
  else out[i] = 'unknown' end
end
return out

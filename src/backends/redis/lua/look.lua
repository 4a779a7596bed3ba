-- look: sweeps (as a claim does), then {ready, inflight, delayed, dead, done, oldest ready
-- enqueue time or '', paused, now}.
local now = now_ms()
sweep(now)
local ready, oldest = redis.call('ZCARD', READY), nil
local h = heads()
for i = 1, #h, 2 do
  if not oldest or idtime(h[i]) < oldest then oldest = idtime(h[i]) end
end
return {ready, redis.call('ZCARD', INFL), redis.call('ZCARD', DELAY), redis.call('ZCARD', DEAD),
  cfg('done', 0), oldest or '', redis.call('HGET', META, 'paused') or '0', now}

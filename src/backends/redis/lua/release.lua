-- release: gives a delivery back. ARGV: id, token, uncount ('1'), delayMs, failure JSON (kept
-- as the message's last failure, fields lf and lfa, while it waits to be tried again).
-- Returns {'ready'}, {'delayed', due}, {'dead'} (its last allowed delivery: dead-lettered,
-- reason max_attempts, with the failure) or gone/lost as ack does.
local id = ARGV[1]
local mk, why = held(id, ARGV[2])
if not mk then return why end
local now = now_ms()
redis.call('ZREM', INFL, id)
redis.call('HDEL', mk, 'tok', 'l')
local a = tonumber(redis.call('HGET', mk, 'a'))
if ARGV[3] == '1' then
  redis.call('HSET', mk, 'a', math.max(0, a - 1))
elseif a >= cfg('maxAttempts', {{DEFAULT_MAX_ATTEMPTS}}) then
  kill(id, 'max_attempts', a, now, ARGV[5])
  return {'dead'}
end
-- Why this delivery failed, kept for mq show while the message waits to be tried again.
if ARGV[5] ~= '' and ARGV[5] ~= '{}' then redis.call('HSET', mk, 'lf', ARGV[5], 'lfa', now) end
local delay = tonumber(ARGV[4])
if delay > 0 then
  redis.call('HSET', mk, 'nb', now + delay)
  redis.call('ZADD', DELAY, now + delay, id)
  wake(1)
  return {'delayed', now + delay}
end
to_ready(id)
wake(1)
return {'ready'}

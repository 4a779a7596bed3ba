-- requeue: dead letters back to ready, delivery count reset; one whose expiry passed loses it.
-- ARGV: limit, then the ids ('' none: the first `limit` dead letters). Returns
-- {{requeued ids}, {ids whose expiry was cleared}}.
local now = now_ms()
local ids = {}
if #ARGV > 1 then for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else ids = redis.call('ZRANGE', DEAD, 0, tonumber(ARGV[1]) - 1) end
local moved, cleared = {}, {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', DEAD, id) == 1 then
    local mk = mkey(id)
    redis.call('HSET', mk, 'a', 0)
    redis.call('HDEL', mk, 'rr', 'ra', 'rn', 'rf', 'lf', 'lfa')
    local x = redis.call('HGET', mk, 'x')
    if x and tonumber(x) <= now then
      redis.call('HDEL', mk, 'x')
      cleared[#cleared + 1] = id
    end
    to_ready(id)
    moved[#moved + 1] = id
  end
end
wake(#moved)
return {moved, cleared}

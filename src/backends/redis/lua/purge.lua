-- purge: deletes up to ARGV[2] messages of state ARGV[1] (never in flight); returns how many.
-- The client calls it until it returns less than asked. 'done' resets the done count.
-- RACE: each call is atomic: a message is either claimed before it or deleted by it.
local state, limit = ARGV[1], tonumber(ARGV[2])
if state == 'done' then
  local n = cfg('done', 0)
  redis.call('HDEL', META, 'done')
  return n
end
sweep(now_ms())
local sets = {}
if state == 'ready' then sets = {READY}
elseif state == 'delayed' then sets = {DELAY}
elseif state == 'dead' then sets = {DEAD} end
return delete_messages(sets, limit)

-- drop: deletes the queue, up to ARGV[1] messages per call; returns {removed, more}: the client
-- calls it until more is 0. The last call deletes the queue's other keys: its sets, meta (config,
-- counts, pause), idempotency keys and the acked ids. The queue's name leaves P:queues and its
-- subscriptions leave their topics from the client (other slots in a cluster).
-- RACE: each call is atomic; a message pushed between calls is deleted by a later one. A push
-- after the last call makes a new, empty queue.
local limit = tonumber(ARGV[1])
local n = delete_messages({READY, DELAY, INFL, DEAD}, limit)
if n >= limit then return {n, 1} end
for _, k in ipairs(redis.call('ZRANGE', base .. 'keys', 0, -1)) do redis.call('DEL', base .. 'k:' .. k) end
redis.call('DEL', READY, DELAY, INFL, DEAD, META, ACKED, base .. 'keys', base .. 'wake')
return {n, 0}

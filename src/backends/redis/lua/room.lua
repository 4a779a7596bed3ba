-- room: {depth, max} of a queue (max -1: unbounded), for checking every subscriber's bound
-- before a fan-out writes anything.
local maxd = redis.call('HGET', META, 'maxDepth')
if not maxd then return {0, -1} end
return {depth(), tonumber(maxd)}

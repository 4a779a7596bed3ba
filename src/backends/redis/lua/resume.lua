-- resume: unpauses; returns 1 if the queue was paused. Wakes waiting claims.
local was = redis.call('HDEL', META, 'paused')
wake(16)
return was

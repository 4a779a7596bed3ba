-- claim_next(tok, lease_arg): the next deliverable message under a fresh lease (included by
-- claim.lua and ack-claim.lua). tok: the delivery's token (random, from the client); lease_arg:
-- leaseMs ('' the queue's).
-- Returns {'paused'}, {'empty', next delay due ('' none), next lease deadline ('' none)}, or
-- {'ok', id, attempt, lease deadline, lease granted (ms), field, value, ...} (the message's hash
-- before the claim: the lease crosses to the client as a duration, time being the server's). 'empty' also
-- carries the server's clock, so that a waiting client can block until the next due time.
-- First returns expired leases and due delays to ready (the engine has no daemon: claims do
-- this), then picks the highest priority rank (priority + whole minutes its oldest ready
-- message has waited, src/policy.ts), ties to the older id. A message already delivered
-- maxAttempts times is dead-lettered (max_attempts), one past its expiry too (expired), and the
-- pick goes on; an id whose hash the server evicted is dropped and counted (meta field lost).
-- RACE: one script: two claims never take one message; the token makes every earlier receipt
-- of the message stale.
local function claim_next(tok, lease_arg)
  local conf = redis.call('HMGET', META, 'paused', 'maxAttempts', 'leaseMs')
  if conf[1] == '1' then return {'paused'} end
  local now = now_ms()
  sweep(now)
  local maxa = tonumber(conf[2]) or {{DEFAULT_MAX_ATTEMPTS}}
  local lease = tonumber(lease_arg) or tonumber(conf[3]) or {{DEFAULT_LEASE_MS}}
  while true do
    local best, bestrank
    local h = heads()
    for i = 1, #h, 2 do
      local rank = h[i + 1] + math.floor(math.max(0, now - idtime(h[i])) / {{AGING_MS}})
      if not best or rank > bestrank or (rank == bestrank and h[i] < best) then best, bestrank = h[i], rank end
    end
    if not best then
      local d = redis.call('ZRANGE', DELAY, 0, 0, 'WITHSCORES')[2] or ''
      local l = redis.call('ZRANGE', INFL, 0, 0, 'WITHSCORES')[2] or ''
      return {'empty', d, l, now}
    end
    redis.call('ZREM', READY, best)
    local mk = mkey(best)
    local fields = redis.call('HGETALL', mk)
    local f = {}
    for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
    local a = tonumber(f.a or '0')
    if #fields == 0 then
      -- The message's hash is gone while its id was still queued: a server that evicts keys
      -- (maxmemory-policy other than noeviction) dropped it. Its body is lost: never deliver an
      -- empty one in its place. Counted in the queue's meta (field lost), and the pick goes on.
      redis.call('HINCRBY', META, 'lost', 1)
    elseif a >= maxa then
      kill(best, 'max_attempts', a, now, '{"lastError":"its last delivery was not acked"}')
    elseif f.x and tonumber(f.x) <= now then
      kill(best, 'expired', a, now, '{"lastError":"expired before delivery"}')
    else
      a = a + 1
      local l = now + lease
      redis.call('HSET', mk, 'a', a, 'tok', tok, 'l', l)
      redis.call('ZADD', INFL, l, best)
      -- The hash as it was before this claim: the client has the new attempt, lease and token.
      local out = {'ok', best, a, l, lease}
      for _, v in ipairs(fields) do out[#out + 1] = v end
      return out
    end
  end
end

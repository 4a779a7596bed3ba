-- The prelude: included at the top of every script (scripts/embed-scripts.js puts it there).
-- KEYS[1] is the queue's key prefix "P:{Q}:"; every other key derives from it (one slot).
-- {{NAME}} is a constant of src/policy.ts, put in when the scripts are loaded.
local base = KEYS[1]
local META, INFL, DELAY, DEAD, READY = base .. 'meta', base .. 'inflight', base .. 'delayed', base .. 'dead', base .. 'ready'
-- The ids of the last {{ACKED_KEPT}} acks, scored by when (mq wait: acked messages are deleted).
local ACKED = base .. 'acked'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function mkey(id) return base .. 'm:' .. id end
-- A push's attempt record (push.lua, mint.lua): the reply the attempt gave, kept
-- {{ATTEMPT_TTL_MS}} ms, so that the same attempt sent again (its reply was lost) gets it back
-- instead of storing its messages twice. a == '': no record.
local function attempt_seen(a)
  if a == '' then return nil end
  local r = redis.call('GET', base .. 'at:' .. a)
  if r then return cjson.decode(r) end
  return nil
end
local function attempt_done(a, reply)
  if a ~= '' then redis.call('SET', base .. 'at:' .. a, cjson.encode(reply), 'PX', {{ATTEMPT_TTL_MS}}) end
end
local function idtime(id) return tonumber(string.sub(id, 1, 12), 16) end
local function cfg(field, default)
  local v = redis.call('HGET', META, field)
  if v then return tonumber(v) end
  return default
end
-- Wakes up to n claims blocked in BLPOP on the wake list (stale entries only cost a retry).
local function wake(n)
  if n <= 0 then return end
  local w = base .. 'wake'
  for i = 1, math.min(n, 16) do redis.call('LPUSH', w, '1') end
  redis.call('LTRIM', w, 0, 63)
  redis.call('PEXPIRE', w, 5000)
end
local function to_ready(id)
  local p = redis.call('HGET', mkey(id), 'p')
  if not p then
    -- Its hash was evicted (claim.lua): nothing to deliver; counted, never made ready empty.
    redis.call('HINCRBY', META, 'lost', 1)
    return
  end
  redis.call('ZADD', READY, {{MAX_PRIORITY}} - tonumber(p), id)
end
-- The oldest ready message of each priority that has one, highest priority first: {id, p, ...}.
local function heads()
  local out = {}
  local h = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  while h[1] do
    out[#out + 1] = h[1]
    out[#out + 1] = {{MAX_PRIORITY}} - tonumber(h[2])
    h = redis.call('ZRANGEBYSCORE', READY, '(' .. h[2], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  end
  return out
end
-- Expired leases and due delays back to ready (bounded per call; the next call goes on).
local function sweep(now)
  local n = 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', INFL, '-inf', now, 'LIMIT', 0, 500)) do
    redis.call('ZREM', INFL, id)
    redis.call('HDEL', mkey(id), 'tok', 'l')
    to_ready(id)
    n = n + 1
  end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', DELAY, '-inf', now, 'LIMIT', 0, 500)) do
    redis.call('ZREM', DELAY, id)
    redis.call('HDEL', mkey(id), 'nb')
    to_ready(id)
    n = n + 1
  end
  return n
end
local function kill(id, reason, attempts, now, failure)
  redis.call('HSET', mkey(id), 'rr', reason, 'ra', now, 'rn', attempts, 'rf', failure)
  redis.call('HDEL', mkey(id), 'tok', 'l', 'nb')
  redis.call('ZADD', DEAD, 0, id)
end
-- Deletes up to limit messages of the sorted sets given, in their order (purge, drop); how many.
local function delete_messages(sets, limit)
  local n = 0
  for _, set in ipairs(sets) do
    if n >= limit then break end
    for _, id in ipairs(redis.call('ZRANGE', set, 0, limit - n - 1)) do
      redis.call('ZREM', set, id)
      redis.call('DEL', mkey(id))
      n = n + 1
    end
  end
  return n
end
-- A message's hash as {field, value, ...} for peek and show: the body as its size, and itself
-- too when bodies; empty when the hash is gone (evicted).
local function message_fields(id, bodies)
  local f = redis.call('HGETALL', mkey(id))
  local m = {}
  for i = 1, #f, 2 do
    if f[i] == 'b' then
      m[#m + 1] = 'size'
      m[#m + 1] = tostring(string.len(f[i + 1]))
      if bodies then m[#m + 1] = 'b'; m[#m + 1] = f[i + 1] end
    else
      m[#m + 1] = f[i]
      m[#m + 1] = f[i + 1]
    end
  end
  return m
end
local function depth()
  return redis.call('ZCARD', INFL) + redis.call('ZCARD', DELAY) + redis.call('ZCARD', READY)
end
-- The delivery a receipt names, if it is in flight now: its key, or nil and why not.
local function held(id, tok)
  local mk = mkey(id)
  local f = redis.call('HMGET', mk, 'tok', 'a')
  if not f[1] then return nil, {'gone'} end
  if tok ~= '' and f[1] ~= tok then return nil, {'lost', f[2]} end
  return mk
end
-- Ids: 12 hex digits of the ms clock, a 4-digit sequence within the ms, "-", the client's node.
-- The clock kept in META never steps back (a sequence past 65535 borrows the next ms), so ids
-- minted under one prefix sort in minting order. save_clock() records it (call it once, last).
local last, seq
local function mint(node, now)
  if not last then last, seq = cfg('lastms', 0), cfg('seq', 0) end
  if now > last then last, seq = now, 0 else seq = seq + 1 end
  if seq > 65535 then last, seq = last + 1, 0 end
  return string.format('%06x%06x%04x-%s', math.floor(last / 16777216), last % 16777216, seq, node)
end
local function save_clock()
  if last then redis.call('HSET', META, 'lastms', last, 'seq', seq) end
end

-- push: stores a batch of messages in one queue, atomically, or nothing.
-- ARGV: node (16 hex: the client's id suffix), keyTtlMs, total (messages this push adds in all,
-- for the bound), key to hold ('' none), topic-key marker ('' none), the key the message carries
-- ('' none: a topic's copies carry the topic's key without holding it here), the attempt ('' none:
-- see below), then 7 per message: priority,
-- delayMs (<= 0: ready), ttlMs ('' none), headers JSON ('' none), body, id ('' mint one), topic.
-- Returns {'full', depth, max}, {'dup', holder id} (a key held: nothing written), {'have', id}
-- (a fan-out retry: this queue already has its copy), or {'ok', id1, state1, id2, state2...}.
-- Ids: see mint() in the prelude: they sort by enqueue time, and by push order within a queue.
-- Attempt: the client's name for this push call (a chunk of it). Its reply is recorded with the
-- writes; the same attempt sent again (the first reply was lost with the connection) gets that
-- reply back and writes nothing, whatever happened since (a claim, an ack, the key taken).
-- RACE: the bound, the key and the writes are one script: two pushes cannot both pass a bound
-- with room for one, nor both take a key; an attempt and its repeat cannot both write.
local now = now_ms()
local node, keyttl, total, key, marker, carried, attempt = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local seen = attempt_seen(attempt)
if seen then return seen end
if marker ~= '' then
  local had = redis.call('GET', base .. 'tk:' .. marker)
  if had then return {'have', had} end
end
local maxd = redis.call('HGET', META, 'maxDepth')
if maxd then
  local d = depth()
  if d + total > tonumber(maxd) then return {'full', d, tonumber(maxd)} end
end
local out, ready = {'ok'}, 0
for i = 8, #ARGV, 7 do
  local p, delay, ttl, hdr, body, id, topic = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  if id == '' then id = mint(node, now) end
  if key ~= '' then
    local holder = redis.call('SET', base .. 'k:' .. key, id, 'NX', 'PX', keyttl, 'GET')
    if holder then return {'dup', holder} end
    redis.call('ZADD', base .. 'keys', now + keyttl, key)
  end
  local f = {'b', body, 'p', p, 'a', 0}
  if hdr ~= '' then f[#f + 1] = 'h'; f[#f + 1] = hdr end
  if ttl ~= '' then f[#f + 1] = 'x'; f[#f + 1] = now + tonumber(ttl) end
  if carried ~= '' then f[#f + 1] = 'k'; f[#f + 1] = carried end
  if topic ~= '' then f[#f + 1] = 't'; f[#f + 1] = topic end
  if delay > 0 then f[#f + 1] = 'nb'; f[#f + 1] = now + delay end
  redis.call('HSET', mkey(id), unpack(f))
  if delay > 0 then
    redis.call('ZADD', DELAY, now + delay, id)
    out[#out + 1] = id
    out[#out + 1] = 'delayed'
  else
    redis.call('ZADD', READY, {{MAX_PRIORITY}} - tonumber(p), id)
    ready = ready + 1
    out[#out + 1] = id
    out[#out + 1] = 'ready'
  end
  if marker ~= '' then redis.call('SET', base .. 'tk:' .. marker, id, 'PX', keyttl) end
end
save_clock()
wake(ready)
attempt_done(attempt, out)
return out

import {AGING_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, MAX_PRIORITY} from '../../policy.js'

/**
 * The Redis engine's state transitions: one Lua script each, run atomically by the server
 * (EVALSHA, with ioredis falling back to EVAL on NOSCRIPT). The layout they share, for queue Q
 * under prefix P (the URL's `prefix`, default "mq"); every key of a queue carries the hash tag
 * {Q}, so one queue lives in one Redis Cluster slot:
 *
 *   P:{Q}:m:ID       hash: one message. b body, p priority, a deliveries so far, nb not-before,
 *                    l lease deadline, tok the delivery's token (present exactly while the
 *                    message is in flight), x expiry, k key, h headers (JSON), t topic; for a
 *                    dead letter rr reason, ra when, rn deliveries, rf the failure (JSON). A
 *                    message's state is the sorted set that holds its id; the hash keeps none.
 *   P:{Q}:ready      sorted set: ready messages scored 9 - priority, so that the highest
 *                    priority comes first and, within one score, members sort by id, that is
 *                    by enqueue time (ids start with it). A claim visits only the priorities
 *                    that have messages: one ZRANGEBYSCORE jumps to the next score.
 *   P:{Q}:delayed    sorted set: delayed messages by due time (ms)
 *   P:{Q}:inflight   sorted set: claimed messages by lease deadline (ms)
 *   P:{Q}:dead       sorted set: dead letters, scored 0 (id order)
 *   P:{Q}:meta       hash: maxDepth, maxAttempts, leaseMs, paused, done (acks counted; bodies
 *                    are deleted at ack), lastms and seq (the id clock)
 *   P:{Q}:k:KEY      string: the id holding idempotency key KEY, expiring with the key
 *   P:{Q}:tk:T:KEY   string: the copy of topic T's keyed message this queue has (fan-out retries)
 *   P:{Q}:keys       sorted set: keys by expiry, so that gc can count what it releases
 *   P:{Q}:wake       list: one entry per wake-up, for claims waiting in BLPOP (expires in 5 s)
 *   P:queues, P:topics, P:t:{T}:subs   sets: queue names, topic names, a topic's subscribers
 *
 * Time is the server's (TIME), never a client's: a client sends durations, and the scripts
 * add them to the server's clock. KEYS[1] is always the queue's key prefix "P:{Q}:"; the other
 * keys are derived from it (all in its slot). Times are returned and stored as integers of ms.
 */

const PRELUDE = `
local base = KEYS[1]
local META, INFL, DELAY, DEAD, READY = base .. 'meta', base .. 'inflight', base .. 'delayed', base .. 'dead', base .. 'ready'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function mkey(id) return base .. 'm:' .. id end
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
  redis.call('ZADD', READY, ${MAX_PRIORITY} - tonumber(p), id)
end
-- The oldest ready message of each priority that has one, highest priority first: {id, p, ...}.
local function heads()
  local out = {}
  local h = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  while h[1] do
    out[#out + 1] = h[1]
    out[#out + 1] = ${MAX_PRIORITY} - tonumber(h[2])
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
`

/**
 * push: stores a batch of messages in one queue, atomically, or nothing.
 * ARGV: node (16 hex: the client's id suffix), keyTtlMs, total (messages this push adds in all,
 * for the bound), key to hold ('' none), topic-key marker ('' none), the key the message carries
 * ('' none: a topic's copies carry the topic's key without holding it here), then 7 per message: priority,
 * delayMs (<= 0: ready), ttlMs ('' none), headers JSON ('' none), body, id ('' mint one), topic.
 * Returns {'full', depth, max}, {'dup', holder id} (a key held: nothing written), {'have', id}
 * (a fan-out retry: this queue already has its copy), or {'ok', id1, state1, id2, state2...}.
 * Ids: see mint() in the prelude: they sort by enqueue time, and by push order within a queue.
 * RACE: the bound, the key and the writes are one script: two pushes cannot both pass a bound
 * with room for one, nor both take a key.
 */
export const PUSH = `${PRELUDE}
local now = now_ms()
local node, keyttl, total, key, marker, carried = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
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
for i = 7, #ARGV, 7 do
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
    redis.call('ZADD', READY, ${MAX_PRIORITY} - tonumber(p), id)
    ready = ready + 1
    out[#out + 1] = id
    out[#out + 1] = 'ready'
  end
  if marker ~= '' then redis.call('SET', base .. 'tk:' .. marker, id, 'PX', keyttl) end
end
save_clock()
wake(ready)
return out
`

/**
 * mint: ids for a push to a topic (KEYS[1] is the topic's prefix "P:t:{T}:"), and its key.
 * ARGV: node, count, key ('' none), keyTtlMs. Returns {'ok', id...} or {'dup', holder}.
 * The copies then go to each subscriber with these ids (PUSH with explicit ids), one step per
 * subscriber (their queues may live in other cluster slots).
 * RACE: two keyed pushes to a topic at once: SET NX lets one mint; the other gets its id back.
 * A producer that dies between mint and the last copy leaves some subscribers without the
 * message; its retry (same key) gets the held id and gives the copy to those that lack it.
 */
export const MINT = `${PRELUDE}
local now = now_ms()
local node, count, key, keyttl = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local out = {'ok'}
for i = 1, count do out[#out + 1] = mint(node, now) end
if key ~= '' then
  local holder = redis.call('SET', base .. 'k:' .. key, out[2], 'NX', 'PX', keyttl, 'GET')
  if holder then return {'dup', holder} end
end
save_clock()
return out
`

/**
 * room: {depth, max} of a queue (max -1: unbounded), for checking every subscriber's bound
 * before a fan-out writes anything.
 */
export const ROOM = `${PRELUDE}
local maxd = redis.call('HGET', META, 'maxDepth')
if not maxd then return {0, -1} end
return {depth(), tonumber(maxd)}
`

/**
 * claim: the next deliverable message under a fresh lease.
 * ARGV: token (random, from the client), leaseMs ('' the queue's).
 * Returns {'paused'}, {'empty', next delay due ('' none), next lease deadline ('' none)}, or
 * {'ok', id, attempt, lease deadline, lease granted (ms), field, value, ...} (the message's hash
 * before the claim: the lease crosses to the client as a duration, time being the server's). 'empty' also
 * carries the server's clock, so that a waiting client can block until the next due time.
 * First returns expired leases and due delays to ready (the engine has no daemon: claims do
 * this), then picks the highest priority rank (priority + whole minutes its oldest ready
 * message has waited, src/policy.ts), ties to the older id. A message already delivered
 * maxAttempts times is dead-lettered (max_attempts), one past its expiry too (expired), and the
 * pick goes on.
 * RACE: one script: two claims never take one message; the token makes every earlier receipt
 * of the message stale.
 */
export const CLAIM = `${PRELUDE}
local conf = redis.call('HMGET', META, 'paused', 'maxAttempts', 'leaseMs')
if conf[1] == '1' then return {'paused'} end
local now = now_ms()
sweep(now)
local maxa = tonumber(conf[2]) or ${DEFAULT_MAX_ATTEMPTS}
local lease = tonumber(ARGV[2]) or tonumber(conf[3]) or ${DEFAULT_LEASE_MS}
while true do
  local best, bestrank
  local h = heads()
  for i = 1, #h, 2 do
    local rank = h[i + 1] + math.floor(math.max(0, now - idtime(h[i])) / ${AGING_MS})
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
  if a >= maxa then
    kill(best, 'max_attempts', a, now, '{"lastError":"its last delivery was not acked"}')
  elseif f.x and tonumber(f.x) <= now then
    kill(best, 'expired', a, now, '{"lastError":"expired before delivery"}')
  else
    a = a + 1
    local l = now + lease
    redis.call('HSET', mk, 'a', a, 'tok', ARGV[1], 'l', l)
    redis.call('ZADD', INFL, l, best)
    -- The hash as it was before this claim: the client has the new attempt, lease and token.
    local out = {'ok', best, a, l, lease}
    for _, v in ipairs(fields) do out[#out + 1] = v end
    return out
  end
end
`

/**
 * ack: finishes a delivery: the message is deleted, the queue's done count raised.
 * ARGV: id, token ('' a bare id: whatever delivery of it is in flight).
 * Returns {'ok'}, {'gone'} (not in flight) or {'lost', attempt} (claimed again since).
 * A lease that ran out still acks until a claim takes the message back (as on the spool).
 * RACE: the token check and the delete are one script: of an ack and a claim racing for an
 * expired lease, exactly one wins.
 */
export const ACK = `${PRELUDE}
local mk, why = held(ARGV[1], ARGV[2])
if not mk then return why end
redis.call('DEL', mk)
redis.call('ZREM', INFL, ARGV[1])
redis.call('HINCRBY', META, 'done', 1)
return {'ok'}
`

/**
 * release: gives a delivery back. ARGV: id, token, uncount ('1'), delayMs, failure JSON.
 * Returns {'ready'}, {'delayed', due}, {'dead'} (its last allowed delivery: dead-lettered,
 * reason max_attempts, with the failure) or gone/lost as ack does.
 */
export const RELEASE = `${PRELUDE}
local id = ARGV[1]
local mk, why = held(id, ARGV[2])
if not mk then return why end
local now = now_ms()
redis.call('ZREM', INFL, id)
redis.call('HDEL', mk, 'tok', 'l')
local a = tonumber(redis.call('HGET', mk, 'a'))
if ARGV[3] == '1' then
  redis.call('HSET', mk, 'a', math.max(0, a - 1))
elseif a >= cfg('maxAttempts', ${DEFAULT_MAX_ATTEMPTS}) then
  kill(id, 'max_attempts', a, now, ARGV[5])
  return {'dead'}
end
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
`

/** renew: the lease to now + leaseMs (ARGV: id, token, leaseMs or ''). Returns {'ok', deadline, lease granted} or gone/lost. */
export const RENEW = `${PRELUDE}
local mk, why = held(ARGV[1], ARGV[2])
if not mk then return why end
local lease = tonumber(ARGV[3]) or tonumber(cfg('leaseMs', ${DEFAULT_LEASE_MS}))
local l = now_ms() + lease
redis.call('HSET', mk, 'l', l)
redis.call('ZADD', INFL, l, ARGV[1])
return {'ok', l, lease}
`

/** dead: dead-letters a delivery on request (reason rejected). ARGV: id, token, failure JSON. */
export const DEAD_LETTER = `${PRELUDE}
local mk, why = held(ARGV[1], ARGV[2])
if not mk then return why end
redis.call('ZREM', INFL, ARGV[1])
kill(ARGV[1], 'rejected', tonumber(redis.call('HGET', mk, 'a')), now_ms(), ARGV[3])
return {'ok'}
`

/**
 * look: sweeps (as a claim does), then {ready, inflight, delayed, dead, done, oldest ready
 * enqueue time or '', paused, now}.
 */
export const LOOK = `${PRELUDE}
local now = now_ms()
sweep(now)
local ready, oldest = redis.call('ZCARD', READY), nil
local h = heads()
for i = 1, #h, 2 do
  if not oldest or idtime(h[i]) < oldest then oldest = idtime(h[i]) end
end
return {ready, redis.call('ZCARD', INFL), redis.call('ZCARD', DELAY), redis.call('ZCARD', DEAD),
  cfg('done', 0), oldest or '', redis.call('HGET', META, 'paused') or '0', now}
`

/**
 * peek: sweeps, then up to ARGV[2] messages of state ARGV[1] in delivery order, each as
 * {id, field, value, ...}; bodies only when ARGV[3] is '1'.
 */
export const PEEK = `${PRELUDE}
sweep(now_ms())
local state, limit = ARGV[1], tonumber(ARGV[2])
local ids = {}
if state == 'ready' then ids = redis.call('ZRANGE', READY, 0, limit - 1)
elseif state == 'delayed' then ids = redis.call('ZRANGE', DELAY, 0, limit - 1)
elseif state == 'inflight' then ids = redis.call('ZRANGE', INFL, 0, limit - 1)
elseif state == 'dead' then ids = redis.call('ZRANGE', DEAD, 0, limit - 1)
end
local out = {}
for _, id in ipairs(ids) do
  local m = {id}
  local f = redis.call('HGETALL', mkey(id))
  for i = 1, #f, 2 do
    if f[i] == 'b' then
      m[#m + 1] = 'size'
      m[#m + 1] = tostring(string.len(f[i + 1]))
      if ARGV[3] == '1' then m[#m + 1] = 'b'; m[#m + 1] = f[i + 1] end
    else
      m[#m + 1] = f[i]
      m[#m + 1] = f[i + 1]
    end
  end
  out[#out + 1] = m
end
return out
`

/**
 * purge: deletes up to ARGV[2] messages of state ARGV[1] (never in flight); returns how many.
 * The client calls it until it returns less than asked. 'done' resets the done count.
 * RACE: each call is atomic: a message is either claimed before it or deleted by it.
 */
export const PURGE = `${PRELUDE}
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
`

/**
 * requeue: dead letters back to ready, delivery count reset; one whose expiry passed loses it.
 * ARGV: limit, then the ids ('' none: the first `limit` dead letters). Returns
 * {{requeued ids}, {ids whose expiry was cleared}}.
 */
export const REQUEUE = `${PRELUDE}
local now = now_ms()
local ids = {}
if #ARGV > 1 then for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else ids = redis.call('ZRANGE', DEAD, 0, tonumber(ARGV[1]) - 1) end
local moved, cleared = {}, {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', DEAD, id) == 1 then
    local mk = mkey(id)
    redis.call('HSET', mk, 'a', 0)
    redis.call('HDEL', mk, 'rr', 'ra', 'rn', 'rf')
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
`

/** gc: forgets idempotency keys that expired (Redis deleted them; this counts them). Returns the count. */
export const GC = `${PRELUDE}
return redis.call('ZREMRANGEBYSCORE', base .. 'keys', '-inf', now_ms())
`

/** resume: unpauses; returns 1 if the queue was paused. Wakes waiting claims. */
export const RESUME = `${PRELUDE}
local was = redis.call('HDEL', META, 'paused')
wake(16)
return was
`

export const SCRIPTS = {
  mqAck: ACK,
  mqClaim: CLAIM,
  mqDead: DEAD_LETTER,
  mqGc: GC,
  mqLook: LOOK,
  mqMint: MINT,
  mqPeek: PEEK,
  mqPurge: PURGE,
  mqPush: PUSH,
  mqRelease: RELEASE,
  mqRenew: RENEW,
  mqRequeue: REQUEUE,
  mqResume: RESUME,
  mqRoom: ROOM,
} as const

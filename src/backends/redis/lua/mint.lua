-- mint: ids for a push to a topic (KEYS[1] is the topic's prefix "P:t:{T}:"), and its key.
-- ARGV: node, count, key ('' none), keyTtlMs, attempt ('' none: as in push.lua, the same
-- attempt sent again gets the same ids back, and the copies converge on them).
-- Returns {'ok', id...} or {'dup', holder}.
-- The copies then go to each subscriber with these ids (PUSH with explicit ids), one step per
-- subscriber (their queues may live in other cluster slots).
-- RACE: two keyed pushes to a topic at once: SET NX lets one mint; the other gets its id back.
-- A producer that dies between mint and the last copy leaves some subscribers without the
-- message; its retry (same key) gets the held id and gives the copy to those that lack it.
local now = now_ms()
local node, count, key, keyttl, attempt = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local seen = attempt_seen(attempt)
if seen then return seen end
local out = {'ok'}
for i = 1, count do out[#out + 1] = mint(node, now) end
if key ~= '' then
  local holder = redis.call('SET', base .. 'k:' .. key, out[2], 'NX', 'PX', keyttl, 'GET')
  if holder then return {'dup', holder} end
end
save_clock()
attempt_done(attempt, out)
return out

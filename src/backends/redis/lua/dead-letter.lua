-- dead: dead-letters a delivery on request (reason rejected). ARGV: id, token, failure JSON.
local mk, why = held(ARGV[1], ARGV[2])
if not mk then return why end
redis.call('ZREM', INFL, ARGV[1])
kill(ARGV[1], 'rejected', tonumber(redis.call('HGET', mk, 'a')), now_ms(), ARGV[3])
return {'ok'}

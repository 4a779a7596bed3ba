-- renew: the lease to now + leaseMs (ARGV: id, token, leaseMs or ''). Returns {'ok', deadline, lease granted} or gone/lost.
local mk, why = held(ARGV[1], ARGV[2])
if not mk then return why end
local lease = tonumber(ARGV[3]) or tonumber(cfg('leaseMs', {{DEFAULT_LEASE_MS}}))
local l = now_ms() + lease
redis.call('HSET', mk, 'l', l)
redis.call('ZADD', INFL, l, ARGV[1])
return {'ok', l, lease}

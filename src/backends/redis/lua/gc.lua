-- gc: forgets idempotency keys that expired (Redis deleted them; this counts them). Returns the count.
return redis.call('ZREMRANGEBYSCORE', base .. 'keys', '-inf', now_ms())

-- claim: the next deliverable message under a fresh lease: claim_next (_claim.lua).
-- ARGV: token (random, from the client), leaseMs ('' the queue's).
--@include claim
return claim_next(ARGV[1], ARGV[2])

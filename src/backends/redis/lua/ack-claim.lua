-- ack-claim: a worker's two steps in one round trip: ack a delivery, then claim the next
-- message (BullMQ's moveToFinished does the same). ARGV: id, token, the next claim's token,
-- its leaseMs ('' the queue's). Returns {ack reply, claim reply} as ack and claim give them;
-- when the ack fails (gone, lost), nothing is claimed: {ack reply, {'skipped'}}.
-- RACE: one script: the two are one transition on the server, atomic as each one alone.
--@include ack
--@include claim
local a = ack_delivery(ARGV[1], ARGV[2])
if a[1] ~= 'ok' then return {a, {'skipped'}} end
return {a, claim_next(ARGV[3], ARGV[4])}

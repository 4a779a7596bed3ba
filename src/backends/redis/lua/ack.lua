-- ack: finishes a delivery: ack_delivery (_ack.lua). ARGV: id, token ('' a bare id: whatever
-- delivery of it is in flight).
--@include ack
return ack_delivery(ARGV[1], ARGV[2])

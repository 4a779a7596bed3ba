// The two calls redis-errors makes of node:assert (in ParserError's constructor), for the fast path's
// bundles: loading node:assert costs a cold `mq push --url redis://` about 2 ms (scripts/build-fast.js).
'use strict'
function assert(value, message) {
  if (!value) throw new Error(message || 'assertion failed')
}
assert.strictEqual = (actual, expected, message) => {
  if (actual !== expected) throw new Error(message || `expected ${String(expected)}, got ${String(actual)}`)
}
module.exports = assert

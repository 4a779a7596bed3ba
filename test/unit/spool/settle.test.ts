import {readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {NotInFlightError} from '../../../src/errors.js'
import {ackMessage} from '../../../src/spool/ack.js'
import {claimNext} from '../../../src/spool/claim.js'
import {queueStats} from '../../../src/spool/inspect.js'
import {QueueDirs} from '../../../src/spool/layout.js'
import {pushMessages} from '../../../src/spool/push.js'
import {releaseMessage} from '../../../src/spool/release.js'
import {renewLease} from '../../../src/spool/renew.js'
import {filesUnder, tempSpool} from '../../support/helpers.js'

const opts = {leaseMs: 60_000, maxAttempts: 5}

async function claimed(name: string, body = "x") {
  const q = new QueueDirs(tempSpool(), name)
  const [p] = await pushMessages(q, [{body: Buffer.from(body)}])
  return {c: claimNext(q, opts)!, id: p.id, q}
}

describe('ackMessage', () => {
  it('moves the claim from cur/ to done/ without its lease field', async () => {
    const {c, id, q} = await claimed('ack')
    expect(ackMessage(q, c.receipt)).toBe(id)
    expect(filesUnder(q.cur)).toEqual([])
    expect(readdirSync(q.done)).toEqual([`${id},a1`])
  })

  it('unlinks instead when keep is false', async () => {
    const {c, q} = await claimed('ack-rm')
    ackMessage(q, c.receipt, {keep: false})
    expect(readdirSync(q.done)).toEqual([])
    expect(queueStats(q)).toMatchObject({done: 0, inflight: 0})
  })

  it('accepts a bare message id for the claim in flight', async () => {
    const {id, q} = await claimed('ack-id')
    expect(ackMessage(q, id)).toBe(id)
  })

  it('fails on a double ack and changes nothing', async () => {
    const {c, q} = await claimed('double')
    ackMessage(q, c.receipt)
    expect(() => ackMessage(q, c.receipt)).toThrow(NotInFlightError)
    expect(queueStats(q)).toMatchObject({done: 1, inflight: 0, ready: 0})
  })

  it('fails with "lease lost" when the lease expired and the message was claimed again', async () => {
    const {c, q} = await claimed('lost')
    const later = claimNext(q, {...opts, now: c.leaseUntil + 1})! // reclaims, then claims again
    expect(later.attempt).toBe(2)
    expect(() => ackMessage(q, c.receipt)).toThrow(/lease lost: the message was claimed again \(attempt 2\)/)
    expect(filesUnder(q.cur)).toEqual([later.receipt])
  })

  it('fails with "lease lost" when the lease expired and the message is ready again', async () => {
    const {c, q} = await claimed('lost-ready')
    releaseMessage(q, c.receipt, {maxAttempts: 5}) // as a reclaim would do
    expect(() => ackMessage(q, c.receipt)).toThrow(/ready again/)
  })

  it('rejects what is neither a receipt nor an id', async () => {
    const {q} = await claimed('junk')
    expect(() => ackMessage(q, '../../etc/passwd')).toThrow(/neither a receipt nor a message id/)
  })
})

describe('releaseMessage', () => {
  it('makes the message ready again at once, keeping its delivery count', async () => {
    const {c, id, q} = await claimed('nack')
    expect(releaseMessage(q, c.receipt, {maxAttempts: 5})).toEqual({id, state: 'ready'})
    const again = claimNext(q, opts)!
    expect(again.id).toBe(id)
    expect(again.attempt).toBe(2)
  })

  it('with a delay, files it in delay/ until then', async () => {
    const {c, q} = await claimed('nack-delay')
    const now = Date.now()
    const r = releaseMessage(q, c.receipt, {delayMs: 5000, maxAttempts: 5, now})
    expect(r).toMatchObject({notBefore: now + 5000, state: 'delayed'})
    expect(queueStats(q)).toMatchObject({delayed: 1, inflight: 0, ready: 0})
    expect(claimNext(q, {...opts, now: now + 4999})).toBeNull()
    expect(claimNext(q, {...opts, now: now + 5000})?.attempt).toBe(2)
  })
})

describe('releaseMessage at the last allowed delivery', () => {
  it('dead-letters the message (max_attempts) with the failure given, instead of giving it back', async () => {
    const {c, id, q} = await claimed('nack-last')
    expect(releaseMessage(q, c.receipt, {failure: {exitCode: 3, lastError: 'exit status 3'}, maxAttempts: 1})).toEqual({id, state: 'dead'})
    expect(queueStats(q)).toMatchObject({dead: 1, inflight: 0, ready: 0})
  })

  it('an uncounted release never dead-letters, and lowers the count again', async () => {
    const {c, id, q} = await claimed('nack-uncount')
    expect(releaseMessage(q, c.receipt, {maxAttempts: 1, uncount: true})).toEqual({id, state: 'ready'})
    expect(claimNext(q, opts)?.attempt).toBe(1)
  })
})

describe('renewLease', () => {
  it('moves the deadline and keeps the receipt valid', async () => {
    const {c, q} = await claimed('renew')
    const now = Date.now()
    const r = renewLease(q, c.receipt, 120_000, undefined, now)
    expect(r.leaseUntil).toBe(now + 120_000)
    expect(filesUnder(q.cur)).toEqual([r.path.slice(r.path.lastIndexOf('/') + 1)])
    expect(r.path).toContain(`,l${now + 120_000}`)
    expect(claimNext(q, {...opts, now: c.leaseUntil + 1})).toBeNull() // not expired any more
    ackMessage(q, c.receipt) // found by its token, wherever the renewal moved it
    expect(queueStats(q)).toMatchObject({done: 1, inflight: 0})
  })

  it('fails when the lease was already reclaimed', async () => {
    const {c, q} = await claimed('renew-lost')
    claimNext(q, {...opts, now: c.leaseUntil + 1})
    expect(() => renewLease(q, c.receipt, 60_000)).toThrow(NotInFlightError)
  })
})

describe('renewLease within the same millisecond', () => {
  it('still fails when the claim is gone, even though the deadline would not change', async () => {
    const {c, q} = await claimed('renew-same-ms')
    const claimedAt = c.leaseUntil - 60_000
    claimNext(q, {...opts, now: c.leaseUntil + 1}) // reclaimed and claimed again
    expect(() => renewLease(q, c.receipt, 60_000, undefined, claimedAt)).toThrow(NotInFlightError)
  })
})

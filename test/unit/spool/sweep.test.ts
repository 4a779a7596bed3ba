import {describe, expect, it} from 'vitest'

import {claimNext} from '../../../src/spool/claim.js'
import {queueStats} from '../../../src/spool/inspect.js'
import {QueueDirs} from '../../../src/spool/layout.js'
import {nextDue, promoteDue} from '../../../src/spool/promote.js'
import {pushMessages} from '../../../src/spool/push.js'
import {nextLeaseExpiry, reclaimExpired} from '../../../src/spool/reclaim.js'
import {filesUnder, tempSpool} from '../../support/helpers.js'

describe('reclaimExpired', () => {
  it('returns expired claims to new/ and leaves live ones', async () => {
    const q = new QueueDirs(tempSpool(), 'reclaim')
    await pushMessages(q, [{body: Buffer.from('a')}, {body: Buffer.from('b')}])
    const now = Date.now()
    const short = claimNext(q, {leaseMs: 1000, maxAttempts: 5, now})!
    const long = claimNext(q, {leaseMs: 60_000, maxAttempts: 5, now})!
    expect(nextLeaseExpiry(q)).toBe(short.leaseUntil)
    expect(reclaimExpired(q, now + 999)).toBe(0)
    expect(reclaimExpired(q, now + 1000)).toBe(1)
    expect(filesUnder(q.cur)).toEqual([long.receipt])
    expect(queueStats(q)).toMatchObject({inflight: 1, ready: 1})
  })
})

describe('promoteDue', () => {
  it('moves due messages from delay/ to new/ and only those', async () => {
    const q = new QueueDirs(tempSpool(), 'delay')
    const now = Date.now()
    await pushMessages(q, [
      {body: Buffer.from('soon'), notBefore: now + 1000},
      {body: Buffer.from('later'), notBefore: now + 3_600_000},
    ], {now: now})
    expect(nextDue(q)).toBe(now + 1000)
    expect(promoteDue(q, now + 500)).toBe(0)
    expect(promoteDue(q, now + 1000)).toBe(1)
    expect(queueStats(q, now)).toMatchObject({delayed: 1, ready: 1})
    expect(nextDue(q)).toBe(now + 3_600_000)
  })

  it('keeps FIFO by enqueue time once promoted', async () => {
    const q = new QueueDirs(tempSpool(), 'delay-fifo')
    const now = Date.now()
    const [delayed] = await pushMessages(q, [{body: Buffer.from('d'), notBefore: now + 10}], {now: now})
    const [plain] = await pushMessages(q, [{body: Buffer.from('p')}], {now: now + 5})
    expect(claimNext(q, {leaseMs: 1000, maxAttempts: 5, now: now + 20})!.id).toBe(delayed.id)
    expect(claimNext(q, {leaseMs: 1000, maxAttempts: 5, now: now + 20})!.id).toBe(plain.id)
  })
})

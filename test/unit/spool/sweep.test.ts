import {describe, expect, it} from 'vitest'

import {ClaimCursor, claimNext, SWEEP_EVERY_MS} from '../../../src/spool/claim.js'
import {queueStats} from '../../../src/spool/inspect.js'
import {QueueDirs} from '../../../src/spool/layout.js'
import {exactNextDue, nextDue, promoteDue} from '../../../src/spool/promote.js'
import {pushMessages} from '../../../src/spool/push.js'
import {exactNextLeaseExpiry, nextLeaseExpiry, reclaimExpired} from '../../../src/spool/reclaim.js'
import {filesUnder, tempSpool} from '../../support/helpers.js'

describe('reclaimExpired', () => {
  it('returns expired claims to new/ and leaves live ones', async () => {
    const q = new QueueDirs(tempSpool(), 'reclaim')
    await pushMessages(q, [{body: Buffer.from('a')}, {body: Buffer.from('b')}])
    const now = Date.now()
    const short = claimNext(q, {leaseMs: 1000, maxAttempts: 5, now})!
    const long = claimNext(q, {leaseMs: 60_000, maxAttempts: 5, now})!
    expect(exactNextLeaseExpiry(q)).toBe(short.leaseUntil)
    // From bucket names alone: a lower bound within 256 ms.
    expect(nextLeaseExpiry(q)).toBeLessThanOrEqual(short.leaseUntil)
    expect(nextLeaseExpiry(q)).toBeGreaterThan(short.leaseUntil - 256)
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
    expect(exactNextDue(q)).toBe(now + 1000)
    expect(nextDue(q)).toBeLessThanOrEqual(now + 1000)
    expect(nextDue(q)).toBeGreaterThan(now + 1000 - 256)
    expect(promoteDue(q, now + 500)).toBe(0)
    expect(promoteDue(q, now + 1000)).toBe(1)
    expect(queueStats(q, now)).toMatchObject({delayed: 1, ready: 1})
    expect(exactNextDue(q)).toBe(now + 3_600_000)
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

describe('how late a long-running process notices what fell due (ClaimCursor, man/mq-spool.5 SWEEPS)', () => {
  const opts = {leaseMs: 60_000, maxAttempts: 5}

  it("another process's expired lease is reclaimed by a busy consumer within SWEEP_EVERY_MS, and by an idle one at once", async () => {
    const q = new QueueDirs(tempSpool(), 'bound')
    await pushMessages(q, Array.from({length: 50}, (_, i) => ({body: Buffer.from(`m${i}`)})))
    const t0 = Date.now()
    const busy = new ClaimCursor()
    const first = claimNext(q, {...opts, now: t0}, busy)! // sweeps now: next sweep by t0 + SWEEP_EVERY_MS
    // Another process (a cursor of its own) claims the next message under a 100 ms lease.
    const other = claimNext(q, {...opts, leaseMs: 100, now: t0}, new ClaimCursor())!
    // Its lease ended at t0 + 100; the busy consumer, with ready work, need not look before t0 + SWEEP_EVERY_MS.
    const before = claimNext(q, {...opts, now: t0 + SWEEP_EVERY_MS - 1}, busy)!
    expect(before.id).not.toBe(other.id)
    // At the bound it sweeps: the reclaimed message is the oldest ready one, so it comes next.
    const at = claimNext(q, {...opts, now: t0 + SWEEP_EVERY_MS}, busy)!
    expect(at).toMatchObject({attempt: 2, id: other.id})
    expect(first.id).not.toBe(other.id)
  })

  it('a consumer that finds nothing ready sweeps at once, whatever its cursor says', async () => {
    const q = new QueueDirs(tempSpool(), 'idle')
    await pushMessages(q, [{body: Buffer.from('only')}])
    const t0 = Date.now()
    const cursor = new ClaimCursor()
    const d = claimNext(q, {...opts, leaseMs: 100, now: t0}, new ClaimCursor())!
    expect(claimNext(q, {...opts, now: t0 + 1}, cursor)).toBeNull() // sweeps: next sweep at t0 + 100 (the lease)
    expect(claimNext(q, {...opts, now: t0 + 150}, cursor)).toMatchObject({attempt: 2, id: d.id})
  })

  it("a process's own short leases and delays come back on time even while it is busy", async () => {
    const q = new QueueDirs(tempSpool(), 'own')
    await pushMessages(q, Array.from({length: 20}, (_, i) => ({body: Buffer.from(`m${i}`)})))
    const t0 = Date.now()
    const cursor = new ClaimCursor()
    const short = claimNext(q, {...opts, leaseMs: 100, now: t0}, cursor)!
    expect(claimNext(q, {...opts, now: t0 + 101}, cursor)).toMatchObject({attempt: 2, id: short.id})
  })
})

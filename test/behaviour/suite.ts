import {describe, expect, it} from 'vitest'

import {type Backend} from '../../src/backend.js'
import {NotInFlightError} from '../../src/errors.js'
import {sleep} from '../support/helpers.js'

/**
 * What every backend must do, written once. A backend's test file calls this with a factory
 * that returns a fresh, empty backend for each test.
 */
export function behaviourSuite(name: string, fresh: () => Promise<Backend> | Backend): void {
  const lease = {leaseMs: 60_000, maxAttempts: 5}
  const text = (s: string) => ({body: Buffer.from(s)})

  describe(`${name} backend behaviour`, () => {
    it('delivers what was pushed, once, with its id and attempt 1', async () => {
      const b = await fresh()
      const [p] = await b.push('q', [text('hello')])
      const d = (await b.claim('q', lease))!
      expect(d).toMatchObject({attempt: 1, id: p.id, queue: 'q'})
      expect(d.body.toString()).toBe('hello')
      expect(await b.claim('q', lease)).toBeNull()
    })

    it('delivers in FIFO order', async () => {
      const b = await fresh()
      const pushed = await b.push('q', ['1', '2', '3', '4'].map(text))
      const got: string[] = []
      for (let d = await b.claim('q', lease); d; d = await b.claim('q', lease)) got.push(d.id)
      expect(got).toEqual(pushed.map((p) => p.id))
    })

    it('round-trips binary bodies exactly', async () => {
      const b = await fresh()
      const body = Buffer.from(Array.from({length: 1024}, (_, i) => (i * 7) % 256))
      await b.push('q', [{body}])
      expect((await b.claim('q', lease))!.body.equals(body)).toBe(true)
    })

    it('claims nothing from an unknown queue', async () => {
      const b = await fresh()
      expect(await b.claim('nobody-pushed-here', lease)).toBeNull()
    })

    it('acks once; a second ack is NotInFlightError', async () => {
      const b = await fresh()
      const [p] = await b.push('q', [text('x')])
      const d = (await b.claim('q', lease))!
      expect(await b.ack('q', d.receipt)).toBe(p.id)
      await expect(b.ack('q', d.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      const [s] = await b.stats('q')
      expect(s).toMatchObject({done: 1, inflight: 0, ready: 0})
    })

    it('redelivers a released message with its count raised', async () => {
      const b = await fresh()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q', lease))!
      await b.release('q', d1.receipt)
      const d2 = (await b.claim('q', lease))!
      expect(d2).toMatchObject({attempt: 2, id: d1.id})
    })

    it('holds a message released with a delay until the delay has passed', async () => {
      const b = await fresh()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q', lease))!
      await b.release('q', d1.receipt, 400)
      expect(await b.claim('q', lease)).toBeNull()
      expect((await b.stats('q'))[0].delayed).toBe(1)
      await sleep(450)
      expect((await b.claim('q', lease))?.id).toBe(d1.id)
    })

    it('redelivers after the lease expires; the stale receipt can no longer ack', async () => {
      const b = await fresh()
      await b.push('q', [text('x')])
      const d1 = (await b.claim('q', {...lease, leaseMs: 200}))!
      expect(await b.claim('q', lease)).toBeNull()
      await sleep(250)
      const d2 = (await b.claim('q', lease))!
      expect(d2).toMatchObject({attempt: 2, id: d1.id})
      await expect(b.ack('q', d1.receipt)).rejects.toBeInstanceOf(NotInFlightError)
      await b.ack('q', d2.receipt)
    })

    it('keeps a renewed lease from expiring', async () => {
      const b = await fresh()
      await b.push('q', [text('x')])
      const d = (await b.claim('q', {...lease, leaseMs: 300}))!
      await sleep(150)
      const r2 = await b.renew('q', d.receipt, 5000)
      await sleep(250)
      expect(await b.claim('q', lease)).toBeNull()
      await b.ack('q', r2)
    })

    it('dead-letters a message after max-attempts deliveries', async () => {
      const b = await fresh()
      await b.push('q', [text('poison')])
      for (let i = 1; i <= 2; i++) {
        const d = (await b.claim('q', {leaseMs: 60_000, maxAttempts: 2}))!
        await b.release('q', d.receipt)
      }
      expect(await b.claim('q', {leaseMs: 60_000, maxAttempts: 2})).toBeNull()
      const [s] = await b.stats('q')
      expect(s).toMatchObject({dead: 1, inflight: 0, ready: 0})
      const [dead] = await b.peek('q', 'dead', 10, true)
      expect(dead.reason).toMatchObject({attempts: 2, reason: 'max_attempts'})
      expect(dead.body?.toString()).toBe('poison')
    })

    it('dead-letters a delivery on request, keeping the reason', async () => {
      const b = await fresh()
      await b.push('q', [text('x')])
      const d = (await b.claim('q', lease))!
      await b.deadLetter('q', d.receipt, {at: Date.now(), attempts: 1, exitCode: 100, lastError: 'exit status 100', reason: 'rejected'})
      const [dead] = await b.peek('q', 'dead', 10, false)
      expect(dead).toMatchObject({id: d.id, reason: {exitCode: 100, reason: 'rejected'}})
    })

    it('waits for a message pushed while it waits', async () => {
      const b = await fresh()
      await b.push('q', [])
      setTimeout(() => void b.push('q', [text('late')]), 300)
      const started = Date.now()
      const d = await b.claim('q', {...lease, waitMs: 10_000})
      expect(d?.body.toString()).toBe('late')
      expect(Date.now() - started).toBeLessThan(10_000)
    })

    it('gives up waiting when the wait runs out', async () => {
      const b = await fresh()
      expect(await b.claim('q', {...lease, waitMs: 300})).toBeNull()
    })

    it('delivers higher priorities first', async () => {
      const b = await fresh()
      await b.push('q', [text('low')])
      await b.push('q', [{body: Buffer.from('high'), priority: 9}])
      expect((await b.claim('q', lease))!.body.toString()).toBe('high')
    })

    it('peeks without claiming, and counts every state', async () => {
      const b = await fresh()
      await b.push('q', ['a', 'b', 'c'].map(text))
      await b.push('q', [{body: Buffer.from('later'), notBefore: Date.now() + 60_000}])
      const ready = await b.peek('q', 'ready', 2, true)
      expect(ready.map((m) => m.body?.toString())).toEqual(['a', 'b'])
      await b.claim('q', lease)
      const [s] = await b.stats('q')
      expect(s).toMatchObject({dead: 0, delayed: 1, done: 0, inflight: 1, queue: 'q', ready: 2})
      expect(s.oldestReadyAgeMs).toBeGreaterThanOrEqual(0)
      expect((await b.stats()).map((x) => x.queue)).toContain('q')
    })
  })
}

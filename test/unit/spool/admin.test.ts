import {readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {SpoolBackend} from '../../../src/backends/spool-backend.js'
import {QueueFullError, QueuePausedError} from '../../../src/errors.js'
import {bucketsOf} from '../../../src/spool/message-id.js'
import {tempSpool} from '../../support/helpers.js'

const lease = {leaseMs: 60_000, maxAttempts: 5}
const text = (s: string) => ({body: Buffer.from(s)})

describe('idempotent push', () => {
  it('a second push with the same key makes no message and returns the first id', async () => {
    const b = new SpoolBackend(tempSpool())
    const [first] = await b.push('q', [{...text('a'), header: {key: 'order-7'}}])
    const [again] = await b.push('q', [{...text('b'), header: {key: 'order-7'}}])
    expect(again).toMatchObject({duplicate: true, id: first.id})
    expect((await b.stats('q'))[0].ready).toBe(1)
    expect(readdirSync(join(b.root, 'q', 'tmp'))).toEqual([])
  })

  it('the key survives retries and reaches the consumer', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [{...text('a'), header: {key: 'k1'}}])
    const d1 = (await b.claim('q', lease))!
    await b.release('q', d1.receipt)
    const d2 = (await b.claim('q', lease))!
    expect(d2.header.key).toBe('k1')
    expect((await b.push('q', [{...text('b'), header: {key: 'k1'}}]))[0].duplicate).toBe(true)
  })
})

describe('priorities and delays together', () => {
  it('a delayed retry keeps its priority', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [{...text('urgent'), priority: 7}])
    const d = (await b.claim('q', lease))!
    await b.release('q', d.receipt, 50)
    await b.push('q', [text('plain')])
    await new Promise((r) => setTimeout(r, 80))
    expect((await b.claim('q', lease))!).toMatchObject({id: d.id, priority: 7})
  })
})

describe('fan-out', () => {
  it('one push reaches every subscriber, each acked on its own, as one file on disk', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.subscribe('orders', 'billing')
    await b.subscribe('orders', 'shipping')
    const [p] = await b.push('orders', [text('order 1')])
    const bill = (await b.claim('billing', lease))!
    const ship = (await b.claim('shipping', lease))!
    expect([bill.id, ship.id]).toEqual([p.id, p.id])
    expect(bill.header.topic).toBe('orders')
    expect(statSync(join(b.root, 'billing', 'cur', bill.receipt)).ino).toBe(statSync(join(b.root, 'shipping', 'cur', ship.receipt)).ino)
    await b.ack('billing', bill.receipt)
    expect((await b.stats('shipping'))[0].inflight).toBe(1)
    expect(readdirSync(join(b.root, '.topics', 'orders', 'tmp'))).toEqual([])
  })

  it('a subscriber added later gets only later messages; one removed gets no more', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.subscribe('t', 'a')
    await b.push('t', [text('1')])
    await b.subscribe('t', 'b')
    await b.push('t', [text('2')])
    await b.unsubscribe('t', 'a')
    await b.push('t', [text('3')])
    expect((await b.peek('a', 'ready', 10, true)).map((m) => m.body?.toString())).toEqual(['1', '2'])
    expect((await b.peek('b', 'ready', 10, true)).map((m) => m.body?.toString())).toEqual(['2', '3'])
  })

  it('a topic with no subscribers left rejects pushes and writes nothing', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.subscribe('t', 'a')
    await b.unsubscribe('t', 'a')
    await expect(b.push('t', [text('x')])).rejects.toMatchObject({code: 'no_subscribers', exitCode: 69})
    expect((await b.stats()).map((s) => s.queue)).toEqual(['a'])
  })
})

describe('bounded queues', () => {
  it('a push past max-depth fails with queue full (75) and writes nothing', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.setConfig('q', {maxDepth: 3})
    await b.push('q', ['1', '2'].map(text))
    await expect(b.push('q', ['3', '4'].map(text))).rejects.toBeInstanceOf(QueueFullError)
    await b.push('q', [text('3')])
    await expect(b.push('q', [text('4')])).rejects.toMatchObject({exitCode: 75})
    expect((await b.stats('q'))[0].ready).toBe(3)
    expect(readdirSync(join(b.root, 'q', 'tmp'))).toEqual([])
  })

  it('in-flight and delayed messages count; acked ones free room; --wait waits for it', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.setConfig('q', {maxDepth: 2})
    await b.push('q', [text('1'), {...text('later'), notBefore: Date.now() + 60_000}])
    const d = (await b.claim('q', lease))!
    await expect(b.push('q', [text('2')])).rejects.toBeInstanceOf(QueueFullError)
    setTimeout(() => void b.ack('q', d.receipt), 300)
    const [p] = await b.push('q', [text('2')], {waitMs: 5000})
    expect(p.id).toBeTruthy()
    expect(await b.getConfig('q')).toEqual({maxDepth: 2})
    expect(await b.setConfig('q', {maxDepth: undefined})).toEqual({})
  })
})

describe('expiry', () => {
  it('a message past its ttl is dead-lettered instead of delivered', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [{...text('stale'), header: {expiresAt: Date.now() + 50}}])
    await new Promise((r) => setTimeout(r, 80))
    expect(await b.claim('q', lease)).toBeNull()
    const [dead] = await b.peek('q', 'dead', 1, false)
    expect(dead.reason).toMatchObject({reason: 'expired'})
  })
})

describe('admin', () => {
  it('pause stops claims in every process (pop fails, waiting claims wait); resume lets them go', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [text('x')])
    await b.pause('q')
    await expect(b.claim('q', lease)).rejects.toBeInstanceOf(QueuePausedError)
    expect((await b.stats('q'))[0].paused).toBe(true)
    setTimeout(() => void b.resume('q'), 300)
    expect((await b.claim('q', {...lease, waitMs: 10_000}))?.body.toString()).toBe('x')
    expect(await b.resume('q')).toBe(false)
  })

  it('purge deletes the chosen states and leaves messages in flight', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', ['1', '2', '3'].map(text))
    await b.push('q', [{...text('d'), notBefore: Date.now() + 60_000}])
    const d = (await b.claim('q', lease))!
    expect(await b.purge('q', ['ready'])).toMatchObject({ready: 2})
    expect((await b.stats('q'))[0]).toMatchObject({delayed: 1, inflight: 1, ready: 0})
    await b.ack('q', d.receipt)
  })

  it('requeue moves dead letters back with their count reset', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [text('x')])
    const d = (await b.claim('q', lease))!
    await b.deadLetter('q', d.receipt, {at: 0, attempts: 1, reason: 'rejected'})
    expect(await b.requeue('q')).toEqual([d.id])
    expect((await b.stats('q'))[0]).toMatchObject({dead: 0, ready: 1})
    expect((await b.claim('q', lease))!.attempt).toBe(1)
    expect(readdirSync(join(b.root, 'q', 'dead'))).toEqual([])
  })

  it('gc removes old done entries, abandoned tmp files and orphan reasons', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', ['1', '2'].map(text))
    for (let d = await b.claim('q', lease); d; d = await b.claim('q', lease)) await b.ack('q', d.receipt)
    writeFileSync(join(b.root, 'q', 'tmp', 'abandoned'), 'half')
    const old = new Date(Date.now() - 7_200_000)
    utimesSync(join(b.root, 'q', 'tmp', 'abandoned'), old, old)
    writeFileSync(join(b.root, 'q', 'tmp', 'fresh'), 'being written')
    expect(await b.gc('q', {doneOlderThanMs: 3_600_000, tmpOlderThanMs: 3_600_000})).toMatchObject({done: 0, tmp: 1})
    expect(await b.gc('q', {doneOlderThanMs: 0, tmpOlderThanMs: 3_600_000})).toMatchObject({done: 2, tmp: 0})
    expect(readdirSync(join(b.root, 'q', 'tmp'))).toEqual(['fresh'])
  })

  it('ignores a bucket removed under a producer (it is made again)', async () => {
    const b = new SpoolBackend(tempSpool())
    const [p] = await b.push('q', [text('x')])
    const [b7] = bucketsOf(p.id)
    await b.purge('q', ['ready']) // removes the emptied buckets too
    expect(readdirSync(join(b.root, 'q', 'new', '0')).includes(b7)).toBe(false)
    await b.push('q', [text('y')])
    expect((await b.stats('q'))[0].ready).toBe(1)
  })
})

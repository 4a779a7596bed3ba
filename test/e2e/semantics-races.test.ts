import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {SpoolBackend} from '../../src/backends/spool/index.js'
import {Queue} from '../../src/queue.js'
import {FIXTURES, mq, run, sleep, tempSpool} from '../support/helpers.js'

const WORKER = join(FIXTURES, 'worker.mjs')
const worker = (spool: string, ...args: string[]) => run(process.execPath, [WORKER, spool, ...args])

describe('races of the queue semantics, with real processes', () => {
  it('8 processes pushing the same key at once make exactly one message', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'warm-up'])
    const results = await Promise.all(Array.from({length: 8}, (_, i) => mq(spool, ['push', 'q', '--key', 'nightly-2026-11-21', `attempt ${i}`])))
    const codes = results.map((r) => r.code).sort()
    expect(codes).toEqual([0, 4, 4, 4, 4, 4, 4, 4])
    const ids = new Set(results.map((r) => r.out.trim()))
    expect(ids.size).toBe(1) // every loser printed the winner's id
    const stats = JSON.parse((await mq(spool, ['stats', 'q', '--json'])).out)
    expect(stats.ready).toBe(2)
  })

  it('8 processes pushing a key that has just expired make exactly one new message', async () => {
    const spool = tempSpool()
    const first = (await mq(spool, ['push', 'q', '--key', 'k', '--key-ttl', '1s', 'first'])).out.trim()
    await sleep(1100)
    const results = await Promise.all(Array.from({length: 8}, (_, i) => mq(spool, ['push', 'q', '--key', 'k', `again ${i}`])))
    expect(results.map((r) => r.code).sort()).toEqual([0, 4, 4, 4, 4, 4, 4, 4])
    const ids = new Set(results.map((r) => r.out.trim()))
    expect(ids.size).toBe(1)
    expect(ids.has(first)).toBe(false)
    expect(JSON.parse((await mq(spool, ['stats', 'q', '--json'])).out).ready).toBe(2)
  })

  it('a topic push racing with subscribe: the new subscriber gets an unbroken tail of the messages', async () => {
    const spool = tempSpool()
    const b = new Queue(new SpoolBackend(spool))
    await b.subscribe('t', 'a')
    const producer = worker(spool, 't', 'push-singles', '300')
    while ((await b.stats('a'))[0].ready < 50) await sleep(10)
    await b.subscribe('t', 'b')
    const r = await producer
    expect(r.code).toBe(0)
    const a = (await b.peek('a', {limit: 1000, state: 'ready'})).map((m) => m.id)
    const got = (await b.peek('b', {limit: 1000, state: 'ready'})).map((m) => m.id)
    expect(a).toHaveLength(300)
    expect(got.length).toBeGreaterThan(0)
    expect(got.length).toBeLessThan(300)
    expect(got).toEqual(a.slice(a.length - got.length))
  })

  it('purge racing with consumers: every message is either delivered or purged, once', async () => {
    const spool = tempSpool()
    const input = Array.from({length: 600}, (_, i) => `m${i}`).join('\n')
    await mq(spool, ['push', 'q', '--batch'], {input})
    const consumers = Array.from({length: 2}, () => worker(spool, 'q', 'drain', '800'))
    await sleep(150)
    const purge = await mq(spool, ['purge', 'q', '--force', '--json'])
    expect(purge.code).toBe(0)
    const purged = JSON.parse(purge.out).purged.ready
    const drained = await Promise.all(consumers)
    for (const r of drained) expect(r.code, r.stderr).toBe(0) // losing a message to purge is no error
    const acked = drained.flatMap((r) => r.out.trim().split('\n').filter(Boolean).map((l) => l.split(' ')[0]))
    expect(new Set(acked).size).toBe(acked.length)
    expect(acked.length + purged).toBe(600)
    const stats = JSON.parse((await mq(spool, ['stats', 'q', '--json'])).out)
    expect(stats).toMatchObject({done: acked.length, inflight: 0, ready: 0})
  })

  it('a full queue under 4 producers passes its bound by no more than the racing producers', async () => {
    const spool = tempSpool()
    expect((await mq(spool, ['config', 'q', '--max-depth', '40'])).code).toBe(0)
    const producers = await Promise.all(Array.from({length: 4}, () => worker(spool, 'q', 'push-singles', '25')))
    const lines = producers.flatMap((r) => r.out.trim().split('\n'))
    const ok = lines.filter((l) => l.startsWith('ok ')).length
    expect(lines.filter((l) => l === 'full').length).toBe(100 - ok)
    const ready = JSON.parse((await mq(spool, ['stats', 'q', '--json'])).out).ready
    expect(ready).toBe(ok)
    expect(ready).toBeGreaterThanOrEqual(40)
    expect(ready).toBeLessThanOrEqual(40 + 3) // documented: at most one push per other producer
  })
})

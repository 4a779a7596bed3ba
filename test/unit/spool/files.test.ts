import {readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {SpoolBackend} from '../../../src/backends/spool/index.js'
import {QueueFullError} from '../../../src/errors.js'
import {Queue} from '../../../src/queue.js'
import {bucketsOf} from '../../../src/message-id.js'
import {filesUnder, tempSpool} from '../../support/helpers.js'

/**
 * What the spool leaves on disk while it keeps the promises of the behaviour suite
 * (test/behaviour/suite.ts tests the promises themselves, through the contract).
 */
const text = (s: string) => ({body: Buffer.from(s)})
const gcAll = {doneOlderThanMs: 0, tmpOlderThanMs: 3_600_000}

describe('the spool on disk', () => {
  it('a keyed push, a duplicate and a refused push leave nothing in tmp/ or half-made in keys/', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [{...text('a'), key: 'order-7'}])
    await b.push('q', [{...text('b'), key: 'order-7'}])
    await b.setConfig('q', {maxDepth: 1})
    await expect(b.push('q', [text('c')])).rejects.toBeInstanceOf(QueueFullError)
    expect(readdirSync(join(b.root, 'q', 'tmp'))).toEqual([])
    expect(readdirSync(join(b.root, 'q', 'keys'))).toHaveLength(1)
  })

  it('a topic push writes one file, hard-linked into every subscriber, and leaves no temp file', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.subscribe('orders', 'billing')
    await b.subscribe('orders', 'shipping')
    const [p] = await b.push('orders', [text('order 1')])
    const [b7, b10] = bucketsOf(p.id)
    const ino = (q: string) => statSync(join(b.root, q, 'new', '0', b7, b10, `${p.id},h`)).ino
    expect(ino('billing')).toBe(ino('shipping'))
    expect(readdirSync(join(b.root, '.topics', 'orders', 'tmp'))).toEqual([])
  })

  it('requeue removes the dead letter’s reason file', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', [text('x')])
    const d = (await new Queue(b).claim('q'))!
    await b.deadLetter('q', d.receipt)
    expect(readdirSync(join(b.root, 'q', 'dead'))).toHaveLength(2)
    await b.requeue('q')
    expect(readdirSync(join(b.root, 'q', 'dead'))).toEqual([])
  })

  it('gc removes old done entries, abandoned tmp files and orphan reasons, not fresh ones', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', ['1', '2'].map(text))
    for (let d = await new Queue(b).claim('q'); d; d = await new Queue(b).claim('q')) await b.ack('q', d.receipt)
    // Two hours before now on the filesystem's clock (gc reads file ages against it, not ours).
    writeFileSync(join(b.root, 'q', 'tmp', 'fresh'), 'being written')
    const old = new Date(statSync(join(b.root, 'q', 'tmp', 'fresh')).mtimeMs - 7_200_000)
    for (const [dir, name] of [
      ['tmp', 'abandoned'],
      ['dead', '0000000000000000-0000000000000000.reason'],
    ]) {
      writeFileSync(join(b.root, 'q', dir, name), 'x')
      utimesSync(join(b.root, 'q', dir, name), old, old)
    }
    expect(await b.gc('q', {doneOlderThanMs: 3_600_000, tmpOlderThanMs: 3_600_000})).toMatchObject({done: 0, tmp: 1})
    expect(await b.gc('q', gcAll)).toMatchObject({done: 2, tmp: 0})
    expect(readdirSync(join(b.root, 'q', 'tmp'))).toEqual(['fresh'])
    expect(readdirSync(join(b.root, 'q', 'dead'))).toEqual([])
  })

  it('a bucket removed under a producer is made again', async () => {
    const b = new SpoolBackend(tempSpool())
    const [p] = await b.push('q', [text('x')])
    const [b7] = bucketsOf(p.id)
    await b.purge('q', ['ready']) // removes the emptied buckets too
    expect(readdirSync(join(b.root, 'q', 'new', '0')).includes(b7)).toBe(false)
    await b.push('q', [text('y')])
    expect((await b.stats('q'))[0].ready).toBe(1)
  })

  it('an acked or released delivery leaves nothing in cur/, whatever its renewals moved', async () => {
    const b = new SpoolBackend(tempSpool())
    await b.push('q', ['a', 'b'].map(text))
    const d1 = (await new Queue(b).claim('q'))!
    const d2 = (await new Queue(b).claim('q'))!
    await b.renew('q', d1.receipt, 120_000)
    await b.renew('q', d2.receipt, 240_000)
    await b.ack('q', d1.receipt)
    await b.release('q', d2.receipt)
    expect(filesUnder(join(b.root, 'q', 'cur'))).toEqual([])
  })
})

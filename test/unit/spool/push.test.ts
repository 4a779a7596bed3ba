import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {bucketsOf, timeHex} from '../../../src/message-id.js'
import {QueueDirs} from '../../../src/spool/layout.js'
import {queueStats} from '../../../src/spool/inspect.js'
import {pushMessages} from '../../../src/spool/push.js'
import {tempSpool} from '../../support/helpers.js'

describe('pushMessages', () => {
  it('files a message under new/P/B7/B10 with the body as the whole file and leaves tmp/ empty', async () => {
    const q = new QueueDirs(tempSpool(), 'jobs')
    const [p] = await pushMessages(q, [{body: Buffer.from('hello')}])
    const [b7, b10] = bucketsOf(p.id)
    const path = join(q.new, '0', b7, b10, p.id)
    expect(readFileSync(path, 'utf8')).toBe('hello') // a bare id: nothing but defaults
    expect(readdirSync(q.tmp)).toEqual([])
  })

  it('creates every state directory of a new queue', async () => {
    const q = new QueueDirs(tempSpool(), 'fresh')
    await pushMessages(q, [{body: Buffer.from('x')}])
    for (const d of [q.tmp, q.new, q.delay, q.cur, q.done, q.dead, q.bad, q.keys]) expect(existsSync(d)).toBe(true)
  })

  it('keeps binary bodies byte for byte', async () => {
    const q = new QueueDirs(tempSpool(), 'bin')
    const body = Buffer.from(Array.from({length: 256}, (_, i) => i))
    const [p] = await pushMessages(q, [{body}])
    const [b7, b10] = bucketsOf(p.id)
    expect(readFileSync(join(q.new, '0', b7, b10, p.id)).equals(body)).toBe(true)
  })

  it('returns a batch in input order with ids that sort the same way', async () => {
    const q = new QueueDirs(tempSpool(), 'batch')
    const pushed = await pushMessages(q, Array.from({length: 50}, (_, i) => ({body: Buffer.from(String(i))})))
    const ids = pushed.map((p) => p.id)
    expect([...ids].sort()).toEqual(ids)
  })

  it('files priority, delay and header fields in the name', async () => {
    const q = new QueueDirs(tempSpool(), 'fields')
    const now = Date.now()
    const [p] = await pushMessages(q, [{body: Buffer.from('b'), key: 'k1', notBefore: now + 60_000, priority: 4}], {now: now})
    expect(p.state).toBe('delayed')
    const [b7, b10] = bucketsOf(timeHex(now + 60_000))
    expect(readFileSync(join(q.delay, b7, b10, `${p.id},p4,n${now + 60_000},h`), 'utf8')).toBe('{"key":"k1"}\nb')
  })

  it('refuses a header of 64 KiB or more before anything is created', async () => {
    const q = new QueueDirs(tempSpool(), 'atomic')
    const huge = {body: Buffer.from('x'), key: 'k'.repeat(70 * 1024)}
    await expect(pushMessages(q, [{body: Buffer.from('ok')}, huge])).rejects.toThrow(/64 KiB/)
    expect(existsSync(q.root)).toBe(false)
  })

  it('writes nothing when a message of the batch cannot be written', async () => {
    const q = new QueueDirs(tempSpool(), 'atomic')
    await pushMessages(q, [{body: Buffer.from('first')}])
    async function* failing() {
      yield Buffer.from('half of a body')
      throw Object.assign(new Error('the producer\'s input broke'), {code: 'EIO'})
    }
    await expect(pushMessages(q, [{body: Buffer.from('ok')}, {body: failing()}])).rejects.toThrow(/producer's input broke/)
    expect(readdirSync(q.tmp)).toEqual([])
    expect(queueStats(q).ready).toBe(1)
  })
})

describe('pushMessages in bulk', () => {
  it('flushes a batch with one syncfs, and every message is filed with nothing left in tmp/', async () => {
    const q = new QueueDirs(tempSpool(), 'bulk')
    const pushed = await pushMessages(q, Array.from({length: 50}, (_, i) => ({body: Buffer.from(`m${i}`)})))
    expect(pushed).toHaveLength(50)
    expect(readdirSync(q.tmp)).toEqual([])
    for (const p of pushed) {
      const [b7, b10] = bucketsOf(p.id)
      expect(existsSync(join(q.new, "0", b7, b10, p.id))).toBe(true)
    }
  })
})

import {mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {claimNext} from '../../../src/spool/claim.js'
import {readDeadReason} from '../../../src/spool/dead-letter.js'
import {quarantinedCount, queueStats} from '../../../src/spool/inspect.js'
import {QueueDirs} from '../../../src/spool/layout.js'
import {bucketsOf, newMessageId, timeHex} from '../../../src/message-id.js'
import {parseName} from '../../../src/spool/message-name.js'
import {pushMessages} from '../../../src/spool/push.js'
import {filesUnder, tempSpool} from '../../support/helpers.js'

const opts = {leaseMs: 60_000, maxAttempts: 3}
const push = async (q: QueueDirs, ...bodies: string[]) => pushMessages(q, bodies.map((b) => ({body: Buffer.from(b)})))

/** Files a ready message by hand, as a foreign producer would, with an id of the given time. */
function fileReady(q: QueueDirs, time: number, body: string): string {
  const id = `${timeHex(time)}0000-${'ab'.repeat(8)}`
  const [b7, b10] = bucketsOf(id)
  mkdirSync(join(q.new, '0', b7, b10), {recursive: true})
  writeFileSync(join(q.new, '0', b7, b10, id), body)
  return id
}

describe('claimNext', () => {
  it('returns null on an empty queue', async () => {
    const q = new QueueDirs(tempSpool(), 'empty')
    await push(q)
    expect(claimNext(q, opts)).toBeNull()
  })

  it('claims in FIFO order by renaming into cur/ with a raised count and a lease', async () => {
    const q = new QueueDirs(tempSpool(), 'fifo')
    const ids = (await push(q, 'a', 'b', 'c')).map((p) => p.id)
    const now = Date.now()
    const c = claimNext(q, {...opts, now})!
    expect(c.id).toBe(ids[0])
    expect(c.attempt).toBe(1)
    expect(c.leaseUntil).toBe(now + 60_000)
    expect(filesUnder(q.cur)).toEqual([c.receipt])
    expect(c.path).toBe(join(q.cur, ...bucketsOf(timeHex(now + 60_000)), c.receipt)) // the lease deadline's buckets
    expect(parseName(c.receipt)).toMatchObject({attempt: 1, id: ids[0], leaseUntil: now + 60_000, token: expect.stringMatching(/^[0-9a-f]{8}$/)})
    expect(readFileSync(c.path, 'utf8')).toBe('a')
    expect(claimNext(q, opts)!.id).toBe(ids[1])
    expect(claimNext(q, opts)!.id).toBe(ids[2])
    expect(claimNext(q, opts)).toBeNull()
  })

  it('claims higher priorities first, FIFO within one', async () => {
    const q = new QueueDirs(tempSpool(), 'prio')
    const low = (await pushMessages(q, [{body: Buffer.from('low')}]))[0].id
    const high1 = (await pushMessages(q, [{body: Buffer.from('h1'), priority: 5}]))[0].id
    const high2 = (await pushMessages(q, [{body: Buffer.from('h2'), priority: 5}]))[0].id
    expect([claimNext(q, opts)!.id, claimNext(q, opts)!.id, claimNext(q, opts)!.id]).toEqual([high1, high2, low])
  })

  it('lets an old low-priority message through a flood of urgent ones (aging)', async () => {
    const q = new QueueDirs(tempSpool(), 'aging')
    const now = Date.now()
    const old = fileReady(q, now - 10 * 60_000, 'old')
    await pushMessages(q, [{body: Buffer.from('urgent'), priority: 9}], {now: now})
    // 10 aging periods of 60 s: rank 0 + 10 beats rank 9 + 0.
    expect(claimNext(q, {...opts, now})!.id).toBe(old)
  })

  it('dead-letters a message that was already delivered max-attempts times', async () => {
    const q = new QueueDirs(tempSpool(), 'max')
    const [p] = await push(q, 'poison')
    for (let i = 0; i < 3; i++) {
      const c = claimNext(q, {...opts, leaseMs: 0})! // lease already over: reclaimed by the next claim
      expect(c.attempt).toBe(i + 1)
    }
    expect(claimNext(q, opts)).toBeNull()
    expect(readdirSync(q.dead).sort()).toEqual([`${p.id},a3`, `${p.id}.reason`].sort())
    expect(readDeadReason(q, p.id)).toMatchObject({attempts: 3, reason: 'max_attempts'})
    expect(queueStats(q)).toMatchObject({dead: 1, inflight: 0, ready: 0})
  })

  it('dead-letters a message whose expiry has passed instead of delivering it', async () => {
    const q = new QueueDirs(tempSpool(), 'ttl')
    const [p] = await pushMessages(q, [{body: Buffer.from('stale'), expiresAt: Date.now() - 1}])
    expect(claimNext(q, opts)).toBeNull()
    expect(readDeadReason(q, p.id)).toMatchObject({reason: 'expired'})
  })

  it('quarantines foreign files and directories and still finds the real message', async () => {
    const q = new QueueDirs(tempSpool(), 'foreign')
    const [p] = await push(q, 'real')
    const [b7, b10] = bucketsOf(p.id)
    writeFileSync(join(q.new, 'README'), 'not a message')
    writeFileSync(join(q.new, '0', b7, b10, '0000000000000000-zzzz'), 'bad name')
    mkdirSync(join(q.new, '0', 'not-a-bucket'))
    const c = claimNext(q, opts)
    expect(c?.id).toBe(p.id)
    expect(claimNext(q, opts)).toBeNull()
    expect(quarantinedCount(q)).toBe(3)
    expect(readdirSync(q.bad).filter((n) => n.endsWith('.reason'))).toHaveLength(3)
  })

  it('quarantines a message whose header is corrupt', async () => {
    const q = new QueueDirs(tempSpool(), 'corrupt')
    const id = newMessageId()
    const [b7, b10] = bucketsOf(id)
    mkdirSync(join(q.new, '0', b7, b10), {recursive: true})
    writeFileSync(join(q.new, '0', b7, b10, `${id},h`), 'not json\nbody')
    expect(claimNext(q, opts)).toBeNull()
    expect(queueStats(q)).toMatchObject({inflight: 0, ready: 0})
    expect(quarantinedCount(q)).toBe(1)
  })

  it('accepts a bare-id file written by a foreign producer', async () => {
    const q = new QueueDirs(tempSpool(), 'shell')
    await push(q)
    const id = newMessageId()
    const [b7, b10] = bucketsOf(id)
    mkdirSync(join(q.new, '0', b7, b10), {recursive: true})
    writeFileSync(join(q.new, '0', b7, b10, id), 'from a shell script')
    const c = claimNext(q, opts)!
    expect(c.id).toBe(id)
    expect(readFileSync(c.path, 'utf8')).toBe('from a shell script')
  })

  it('removes drained buckets older than the current one', async () => {
    const q = new QueueDirs(tempSpool(), 'tidy')
    await push(q)
    fileReady(q, Date.now() - 3_600_000, 'x')
    claimNext(q, opts)
    expect(claimNext(q, opts)).toBeNull()
    expect(readdirSync(join(q.new, '0'))).toEqual([])
  })
})

import {mkdirSync, readdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {keyDir} from '../../../src/spool/keys.js'
import {delayBucket, mkfifo, mksock, oldId, readyBucket} from '../../support/damage.js'
import {mq, tempSpool} from '../../support/helpers.js'

// A hang is a failure with a name: every command here is killed after 10 s.
const T = {timeoutMs: 10_000}
/** A message name that sorts just before `id` in its bucket (so it is tried first). */
const before = (id: string, n: number) => `${id.slice(0, 12)}0000-${n.toString(16).padStart(16, '0')}`
const stats = async (spool: string, q: string) => JSON.parse((await mq(spool, ['stats', q, '--json'], T)).out)

/** A queue with `n` good messages; returns the spool and their ids. */
async function queueWith(n: number): Promise<{ids: string[]; spool: string}> {
  const spool = tempSpool()
  const r = await mq(spool, ['push', 'q', '--batch'], {input: Array.from({length: n}, (_, i) => `good ${i}`).join('\n'), ...T})
  expect(r.code).toBe(0)
  return {ids: r.out.trim().split('\n'), spool}
}

/** Pops until empty; every pop must end by itself; returns the bodies delivered. */
async function drain(spool: string): Promise<string[]> {
  const bodies: string[] = []
  for (;;) {
    const r = await mq(spool, ['pop', 'q', '--json'], T)
    expect(r.timedOut, 'pop hung').toBe(false)
    if (r.code === 3) return bodies
    expect(r.code, r.stderr).toBe(0)
    bodies.push(JSON.parse(r.out).body)
  }
}

describe('a single foreign file neither stops nor hangs a queue', () => {
  it('a FIFO named like a message in new/ is quarantined, and the messages behind it are delivered', async () => {
    const {spool} = await queueWith(3)
    const id = oldId()
    mkdirSync(readyBucket(spool, 'q', id), {recursive: true})
    mkfifo(join(readyBucket(spool, 'q', id), id))
    expect(await drain(spool)).toEqual(['good 0', 'good 1', 'good 2'])
    expect(await stats(spool, 'q')).toMatchObject({bad: 1, inflight: 3, ready: 0})
  })

  it('a FIFO named like a due delayed message in delay/ is quarantined', async () => {
    const {spool} = await queueWith(2)
    const due = Date.now() - 5000
    const dir = delayBucket(spool, 'q', due)
    mkdirSync(dir, {recursive: true})
    mkfifo(join(dir, `${oldId(10_000)},n${due}`))
    expect(await drain(spool)).toEqual(['good 0', 'good 1'])
    expect((await stats(spool, 'q')).bad).toBe(1)
  })

  it('a FIFO in cur/ named like an expired receipt is quarantined, never moved into new/', async () => {
    const {spool} = await queueWith(2)
    mkfifo(join(spool, 'q', 'cur', `${oldId()},a1,l${Date.now() - 1000}`))
    expect(await drain(spool)).toEqual(['good 0', 'good 1'])
    expect((await stats(spool, 'q')).bad).toBe(1)
  })

  it('a FIFO where a key is kept does not hang push --key or gc', async () => {
    const {spool} = await queueWith(1)
    mkfifo(keyDir(join(spool, 'q', 'keys'), 'nightly'))
    const push = await mq(spool, ['push', 'q', '--key', 'nightly', 'report'], T)
    expect(push.timedOut, 'push hung').toBe(false)
    expect(push.code, push.stderr).toBe(0)
    const again = await mq(spool, ['push', 'q', '--key', 'nightly', 'report'], T)
    expect(again.code).toBe(4) // the key holds now
    mkfifo(keyDir(join(spool, 'q', 'keys'), 'other'))
    const gc = await mq(spool, ['gc', '--force'], T)
    expect(gc.timedOut, 'gc hung').toBe(false)
    expect(gc.code, gc.stderr).toBe(0)
  })

  it("a FIFO as a dead letter's reason does not hang peek", async () => {
    const spool = tempSpool()
    const id = (await mq(spool, ['push', 'q', 'poison'], T)).out.trim()
    const r = await mq(spool, ['consume', 'q', '--once', '--exec', join(process.cwd(), 'test', 'fixtures', 'handlers', 'permfail.sh')], T)
    expect(r.code).toBe(0)
    const reason = join(spool, 'q', 'dead', `${id}.reason`)
    const {unlinkSync} = await import('node:fs')
    unlinkSync(reason)
    mkfifo(reason)
    const peek = await mq(spool, ['peek', 'q', '--state', 'dead', '--json'], T)
    expect(peek.timedOut, 'peek hung').toBe(false)
    expect(peek.code).toBe(0)
    expect(JSON.parse(peek.out)).toMatchObject([{body: 'poison', id}])
  })

  it('a FIFO as config.json is a one-line configuration error (78), not a hang', async () => {
    const {spool} = await queueWith(1)
    mkfifo(join(spool, 'q', 'config.json'))
    const push = await mq(spool, ['push', 'q', 'x'], T)
    expect(push.timedOut, 'push hung').toBe(false)
    expect(push.code).toBe(78)
    expect(push.stderr).toMatch(/config\.json: is a FIFO, not a regular file\n$/)
    expect(push.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('damage at every depth is quarantined, counted, and never stops the queue', () => {
  const cases: Array<[string, (spool: string, id: string) => void]> = [
    ['a plain file named like a priority-level bucket (new/0/0000000)', (s) => writeFileSync(join(s, 'q', 'new', '0', '0000000'), 'x')],
    ['a plain file named like a time bucket (new/0/B7/0000000000)', (s, id) => writeFileSync(join(s, 'q', 'new', '0', id.slice(0, 7), '0000000000'), 'x')],
    ['a plain file named like a delay bucket (delay/0000000)', (s) => writeFileSync(join(s, 'q', 'delay', '0000000'), 'x')],
    ['a directory named like a message', (s, id) => mkdirSync(join(readyBucket(s, 'q', id), before(id, 1)))],
    ['a socket named like a message', (s, id) => mksock(join(readyBucket(s, 'q', id), before(id, 2)))],
    ['a symlink loop named like a message', (s, id) => {
      const loop = join(readyBucket(s, 'q', id), before(id, 3))
      symlinkSync(loop, loop)
    }],
    ['a file named like a priority that is not one (new/x)', (s) => writeFileSync(join(s, 'q', 'new', 'x'), 'x')],
  ]
  for (const [what, plant] of cases) {
    it(`${what}: all ten messages behind it are delivered`, async () => {
      const {ids, spool} = await queueWith(10)
      plant(spool, ids[0])
      const bodies = await drain(spool)
      expect(bodies).toEqual(Array.from({length: 10}, (_, i) => `good ${i}`))
      const s = await stats(spool, 'q')
      expect(s).toMatchObject({inflight: 10, ready: 0})
      expect(s.bad).toBeGreaterThanOrEqual(1)
      // consume goes through the same claim.
      const more = await mq(spool, ['push', 'q', 'after'], T)
      expect(more.code).toBe(0)
      const consume = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', 'true'], T)
      expect(consume.code, consume.stderr).toBe(0)
      expect(consume.out.trim().split('\n').map((l) => JSON.parse(l).result)).toEqual(['ack'])
    })
  }

  it('a directory in keys/ that is not a key does not stop gc', async () => {
    const {spool} = await queueWith(1)
    mkdirSync(join(spool, 'q', 'keys', 'not-a-key', 'deeper'), {recursive: true})
    writeFileSync(join(spool, 'q', 'keys', 'not-a-key', 'deeper', 'x'), 'x')
    const gc = await mq(spool, ['gc', '--force'], T)
    expect(gc.code, gc.stderr).toBe(0)
    expect(readdirSync(join(spool, 'q', 'keys', 'not-a-key'))).toEqual(['deeper']) // not ours: left alone
  })

  it('a directory named like a dead letter does not stop purge, peek or requeue', async () => {
    const {spool} = await queueWith(1)
    mkdirSync(join(spool, 'q', 'dead', oldId()))
    for (const args of [['peek', 'q', '--state', 'dead'], ['requeue', 'q'], ['purge', 'q', '--state', 'dead', '--force']]) {
      const r = await mq(spool, args, T)
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0)
    }
  })
})

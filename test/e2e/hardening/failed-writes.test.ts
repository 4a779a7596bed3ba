import {readdirSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {fillBytes, fillInodes, smallFilesystem} from '../../support/damage.js'
import {FIXTURES, mq, sleep} from '../../support/helpers.js'

const T = {timeoutMs: 15_000}
const stats = async (spool: string, q: string) => JSON.parse((await mq(spool, ['stats', q, '--json'], T)).out)

describe('a failed push --key releases its key and leaves nothing behind', () => {
  it('ENOSPC at the rename: exit 74, no id, no temp files, and the retry makes the message (not a "duplicate")', async (ctx) => {
    const fs = smallFilesystem(8 << 20, 64)
    if ('skip' in fs) return ctx.skip(fs.skip)
    const spool = join(fs.dir, 'spool')
    expect((await mq(spool, ['push', 'q', 'first'], T)).code).toBe(0)
    await sleep(300) // the next push needs a new time bucket: one more directory
    // Room for the staged message and the key (3 inodes), not for the bucket's directory.
    const free = fillInodes(fs.dir, 3)
    const failed = await mq(spool, ['push', 'q', '--key', 'nightly', 'report'], T)
    expect(failed.code).toBe(74)
    expect(failed.out).toBe('')
    expect(failed.stderr).toMatch(/^mq: mkdir .*\/new\/0\/.*: no space left on device\n$/)
    expect(readdirSync(join(spool, 'q', 'tmp'))).toEqual([])
    expect(readdirSync(join(spool, 'q', 'keys'))).toEqual([])
    free()
    const retry = await mq(spool, ['push', 'q', '--key', 'nightly', 'report'], T)
    expect(retry.code, retry.stderr).toBe(0)
    expect(await stats(spool, 'q')).toMatchObject({ready: 2})
    expect((await mq(spool, ['push', 'q', '--key', 'nightly', 'report'], T)).code).toBe(4) // now it holds
  })

  it('a producer killed between taking the key and the rename: the next push with the key makes the message', async () => {
    const spool = join((await import('../../support/helpers.js')).tempSpool(), 's')
    const killed = await mq(spool, ['push', 'q', '--key', 'k', 'lost in flight'], {...T, env: {MQ_TEST_CRASH_AT: 'push:key-taken'}})
    expect(killed.signal).toBe('SIGKILL')
    expect(readdirSync(join(spool, 'q', 'tmp'))).toHaveLength(1) // the message never became visible
    const retry = await mq(spool, ['push', 'q', '--key', 'k', 'second try'], T)
    expect(retry.code, retry.stderr).toBe(0)
    const peek = JSON.parse((await mq(spool, ['peek', 'q', '--json'], T)).out)
    expect(peek.map((m: {body: string}) => m.body)).toEqual(['second try'])
    // The abandoned write can never appear now; gc removes it once old.
    expect(readdirSync(join(spool, 'q', 'tmp')).every((n) => n.startsWith('.abandoned.'))).toBe(true)
  })

  it('gc releases the key of a producer that died before its message became visible', async () => {
    const spool = join((await import('../../support/helpers.js')).tempSpool(), 's')
    await mq(spool, ['push', 'q', '--key', 'k', 'x'], {...T, env: {MQ_TEST_CRASH_AT: 'push:key-taken'}})
    expect(readdirSync(join(spool, 'q', 'keys'))).toHaveLength(1)
    const gc = await mq(spool, ['gc', '--force', '--json'], T)
    expect(gc.code, gc.stderr).toBe(0)
    expect(JSON.parse(gc.out)[0].removed.keys).toBe(1)
    expect(readdirSync(join(spool, 'q', 'keys'))).toEqual([])
    expect((await mq(spool, ['push', 'q', '--key', 'k', 'x'], T)).code).toBe(0)
  })
})

describe('writes that fail on a full disk leave nothing half-written', () => {
  it('dead-lettering on a full disk leaves no empty temp reason, and the message stays in flight', async (ctx) => {
    const fs = smallFilesystem(1 << 20, 200)
    if ('skip' in fs) return ctx.skip(fs.skip)
    const spool = join(fs.dir, 'spool')
    const id = (await mq(spool, ['push', 'q', 'poison'], T)).out.trim()
    // Dead-letter a message whose handler rejects it (exit 100) with no byte of room left.
    const free = fillBytes(fs.dir, 0)
    const r = await mq(spool, ['consume', 'q', '--once', '--json', '--exec', join(FIXTURES, 'handlers', 'permfail.sh')], T)
    free()
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/could not settle/)
    expect(readdirSync(join(spool, 'q', 'dead'))).toEqual([]) // no ".ID.reason.PID"
    expect(await stats(spool, 'q')).toMatchObject({dead: 0, inflight: 1})
    expect(id).toMatch(/-/)
  })

  it("gc cleans a topic's abandoned temp files", async () => {
    const spool = join((await import('../../support/helpers.js')).tempSpool(), 's')
    expect((await mq(spool, ['subscribe', 'orders', 'billing'], T)).code).toBe(0)
    expect((await mq(spool, ['push', 'orders', 'x'], T)).code).toBe(0)
    const tmp = join(spool, '.topics', 'orders', 'tmp')
    writeFileSync(join(tmp, 'left-by-a-dead-producer'), 'x')
    // Two hours old by the filesystem's clock (gc reads file ages against it).
    const old = new Date(statSync(join(tmp, 'left-by-a-dead-producer')).mtimeMs - 2 * 3_600_000)
    utimesSync(join(tmp, 'left-by-a-dead-producer'), old, old)
    const gc = await mq(spool, ['gc', '--force'], T)
    expect(gc.code, gc.stderr).toBe(0)
    expect(readdirSync(tmp)).toEqual([])
  })
})

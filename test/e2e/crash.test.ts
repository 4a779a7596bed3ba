import {spawn} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {FIXTURES, mq, sleep, tempSpool} from '../support/helpers.js'

const WORKER = join(FIXTURES, 'worker.mjs')

/** Starts a worker and resolves with it once it has printed its first line. */
function startWorker(args: string[]): Promise<{child: ReturnType<typeof spawn>; line: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], {stdio: ['ignore', 'pipe', 'inherit']})
    let out = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('\n')) resolve({child, line: out.trim()})
    })
    child.on('error', reject)
  })
}

describe('crashes', () => {
  it('a consumer kill -9ed after pop, before ack: the message comes back after its lease, count raised', async () => {
    const spool = tempSpool()
    const id = (await mq(spool, ['push', 'crash', 'survive me'])).out.trim()
    const {child, line} = await startWorker([spool, 'crash', 'claim-and-hang', '1000'])
    expect(line.startsWith(`${id},a1,`)).toBe(true)
    child.kill('SIGKILL')
    expect((await mq(spool, ['pop', 'crash'])).code).toBe(3) // still leased
    await sleep(1100)
    const pop = await mq(spool, ['pop', 'crash', '--json'])
    expect(JSON.parse(pop.out)).toMatchObject({attempt: 2, body: 'survive me', id})
  })

  it('a producer killed mid-write leaves no visible half message', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'half', '--allow-empty'], {input: ''}) // make the queue
    await mq(spool, ['pop', 'half'])
    const child = spawn(process.execPath, [WORKER, spool, 'half', 'push-big', String(400 * 1024 * 1024)], {stdio: 'ignore'})
    // Kill it as soon as its file appears in tmp/, i.e. while it writes.
    const tmp = join(spool, 'half', 'tmp')
    for (let i = 0; i < 2000 && readdirSync(tmp).length === 0; i++) await sleep(5)
    expect(readdirSync(tmp)).toHaveLength(1)
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    const stats = JSON.parse((await mq(spool, ['stats', 'half', '--json'])).out)
    expect(stats).toMatchObject({inflight: 1, ready: 0})
    expect((await mq(spool, ['pop', 'half'])).code).toBe(3)
  })
})

describe('durability fallbacks', () => {
  it('a batch still lands whole where `sync -f` is not available (fsync per file instead)', async () => {
    const spool = tempSpool()
    const {run} = await import('../support/helpers.js')
    const r = await run(process.execPath, [WORKER, spool, 'bulk', 'push-many', '40'], {env: {PATH: '/nonexistent'}})
    expect(r.code).toBe(0)
    expect(r.out.trim().split('\n')).toHaveLength(40)
    const stats = JSON.parse((await mq(spool, ['stats', 'bulk', '--json'])).out)
    expect(stats).toMatchObject({ready: 40})
    expect(readdirSync(join(spool, 'bulk', 'tmp'))).toEqual([])
  })
})

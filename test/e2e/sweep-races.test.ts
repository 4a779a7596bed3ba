import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {bucketsOf} from '../../src/message-id.js'
import {FIXTURES, mq, run, sleep, tempSpool} from '../support/helpers.js'

const WORKER = join(FIXTURES, 'worker.mjs')
const worker = (spool: string, args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof run> => run(process.execPath, [WORKER, spool, ...args], {env})
const acked = (outs: Array<{out: string}>) => outs.flatMap((r) => r.out.trim().split('\n').filter(Boolean).map((l) => l.split(' ')[0]))
const stats = async (spool: string, q: string) => JSON.parse((await mq(spool, ['stats', q, '--json'])).out)

describe('the sweeps and refiling, raced by several processes', () => {
  it('releases refiling into a bucket that another process keeps removing lose nothing', async () => {
    const spool = tempSpool()
    const id = (await mq(spool, ['push', 'q', 'only'])).out.trim() // one message: its bucket empties at every claim
    expect((await mq(spool, ['config', 'q', '--max-attempts', '1000000'])).code).toBe(0) // churned 600 times
    const bucket = join(spool, 'q', 'new', '0', ...bucketsOf(id))
    await sleep(600) // no longer the current bucket, so consumers may remove it when empty
    // A process removing the bucket whenever it is empty, as fast as it can: it wins the
    // window between a release's mkdir and its rename again and again.
    const remover = run(process.execPath, ['-e', `const fs = require('fs'); const end = Date.now() + 3000
      let n = 0; while (Date.now() < end) { try { fs.rmdirSync(${JSON.stringify(bucket)}); n++ } catch {} }
      console.log(n)`])
    const churners = await Promise.all(Array.from({length: 2}, () => worker(spool, ['q', 'churn', '300'])))
    for (const r of churners) expect(r.code, r.stderr).toBe(0)
    expect(Number((await remover).out)).toBeGreaterThan(0)
    expect(await stats(spool, 'q')).toMatchObject({bad: 0, dead: 0, inflight: 0, ready: 1})
  })

  it('delayed messages that fall due together are promoted and delivered once each', async () => {
    const spool = tempSpool()
    const due = Date.now() + 2500
    const ids = (await worker(spool, ['q', 'push-delayed', '1500'], {MQ_DUE: String(due)})).out.trim().split('\n')
    expect(await stats(spool, 'q')).toMatchObject({delayed: 1500, ready: 0})
    // All four start sweeping in the same millisecond, as the messages fall due.
    const drains = await Promise.all(Array.from({length: 4}, () => worker(spool, ['q', 'drain', '2500'], {START_AT: String(due)})))
    for (const r of drains) expect(r.code, r.stderr).toBe(0) // losing a promotion race is no error
    const got = acked(drains)
    expect(new Set(got).size).toBe(got.length)
    expect([...got].sort()).toEqual([...ids].sort())
    expect(await stats(spool, 'q')).toMatchObject({delayed: 0, done: 1500, inflight: 0, ready: 0})
  })

  it('expired leases reclaimed by several consumers at once come back, and are delivered, once each', async () => {
    const spool = tempSpool()
    const ids = (await mq(spool, ['push', 'q', '--batch'], {input: Array.from({length: 1500}, (_, i) => `m${i}`).join('\n')})).out.trim().split('\n')
    const claimedFrom = Date.now()
    await worker(spool, ['q', 'claim-expired', '1500'], {LEASE_MS: '4000'})
    expect(await stats(spool, 'q')).toMatchObject({inflight: 1500, ready: 0})
    // Every lease has ended by then; all four start reclaiming in the same millisecond.
    const start = String(claimedFrom + 4000 + (Date.now() - claimedFrom) + 300)
    const drains = await Promise.all(Array.from({length: 4}, () => worker(spool, ['q', 'drain', '1500'], {START_AT: start})))
    for (const r of drains) expect(r.code, r.stderr).toBe(0) // losing a reclaim race is no error
    const got = acked(drains)
    expect(new Set(got).size).toBe(got.length)
    expect([...got].sort()).toEqual([...ids].sort())
    const done = readdirSync(join(spool, 'q', 'done'))
    expect(done.every((n) => n.endsWith(',a2'))).toBe(true) // second delivery, each exactly once
  })
})

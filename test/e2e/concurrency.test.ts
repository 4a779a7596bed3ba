import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {FIXTURES, mq, run, tempSpool} from '../support/helpers.js'

const WORKER = join(FIXTURES, 'worker.mjs')
const worker = (spool: string, ...args: string[]) => run(process.execPath, [WORKER, spool, ...args])

describe('several processes on one queue', () => {
  it('4 producers and 4 consumers: every message is delivered and acked exactly once', async () => {
    const spool = tempSpool()
    const perProducer = 150
    const producers = Array.from({length: 4}, (_, p) =>
      mq(spool, ['push', 'shared', '--batch'], {
        input: Array.from({length: perProducer}, (_, i) => `p${p}-m${i}`).join('\n'),
      }),
    )
    // Consumers start while the producers are still writing.
    const consumers = Array.from({length: 4}, () => worker(spool, 'shared', 'drain', '3000'))
    const pushed = (await Promise.all(producers)).flatMap((r) => {
      expect(r.code).toBe(0)
      return r.out.trim().split('\n')
    })
    const acked = (await Promise.all(consumers)).flatMap((r) => {
      expect(r.code).toBe(0)
      return r.out.trim().split('\n').filter(Boolean)
    })
    expect(pushed).toHaveLength(4 * perProducer)
    const ackedIds = acked.map((l) => l.split(' ')[0])
    expect(new Set(ackedIds).size).toBe(ackedIds.length) // nothing twice
    expect([...ackedIds].sort()).toEqual([...pushed].sort()) // nothing lost
    const stats = JSON.parse((await mq(spool, ['stats', 'shared', '--json'])).out)
    expect(stats).toMatchObject({dead: 0, done: 4 * perProducer, inflight: 0, ready: 0})
  })

  it('consumers using only the CLI (pop, ack) in shell loops share the work exactly once', async () => {
    const spool = tempSpool()
    const ids = (await mq(spool, ['push', 'sh', '--batch'], {input: Array.from({length: 24}, (_, i) => `m${i}`).join('\n')})).out
      .trim()
      .split('\n')
    const loop = `
      while :; do
        r=$(node "$BIN" pop sh -o "$TMPF"); rc=$?
        [ $rc -eq 3 ] && exit 0   # empty: done
        [ $rc -eq 0 ] || exit $rc
        node "$BIN" ack sh "$r" || exit 9
        echo "\${r%%,*}"
      done`
    const shells = Array.from({length: 3}, (_, i) =>
      run('bash', ['-c', loop], {env: {BIN: join(FIXTURES, '..', '..', 'bin', 'run.cjs'), MQ_SPOOL: spool, TMPF: join(spool, `body${i}`)}}),
    )
    const results = await Promise.all(shells)
    for (const r of results) expect(r.code).toBe(0)
    const acked = results.flatMap((r) => r.out.trim().split('\n').filter(Boolean))
    expect(acked).toHaveLength(ids.length)
    expect([...acked].sort()).toEqual([...ids].sort())
  })

  it('8 processes racing to dead-letter one exhausted message: it dies once, with its reason', async () => {
    const spool = tempSpool()
    const id = (await mq(spool, ['push', 'race', 'poison'])).out.trim()
    expect((await mq(spool, ['config', 'race', '--max-attempts', '2'])).code).toBe(0)
    // Deliver it twice (lease 0 expires at once), so the next claim must dead-letter it.
    for (let i = 0; i < 2; i++) await mq(spool, ['pop', 'race', '--lease', '0s'])
    const at = String(Date.now() + 1500)
    const racers = await Promise.all(
      Array.from({length: 8}, () => run(process.execPath, [WORKER, spool, 'race', 'claim-at', at])),
    )
    expect(racers.map((r) => r.out.trim())).toEqual(Array.from({length: 8}, () => 'lost'))
    const dead = JSON.parse((await mq(spool, ['peek', 'race', '--state', 'dead', '--json'])).out)
    expect(dead).toHaveLength(1)
    expect(dead[0]).toMatchObject({id, reason: {attempts: 2, reason: 'max_attempts'}})
    const {readdirSync} = await import('node:fs')
    expect(readdirSync(join(spool, 'race', 'dead')).sort()).toEqual([`${id},a2`, `${id}.reason`])
  })

  it('8 processes racing for one message: exactly one wins', async () => {
    const spool = tempSpool()
    const [id] = (await mq(spool, ['push', 'race', 'only-one'])).out.trim().split('\n')
    const at = String(Date.now() + 1500)
    const racers = await Promise.all(Array.from({length: 8}, () => worker(spool, 'race', 'claim-at', at)))
    const outs = racers.map((r) => r.out.trim())
    expect(outs.filter((o) => o === `won ${id}`)).toHaveLength(1)
    expect(outs.filter((o) => o === 'lost')).toHaveLength(7)
  })
})

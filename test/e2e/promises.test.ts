import {describe, expect, it} from 'vitest'

import {mq, tempSpool} from '../support/helpers.js'

// Promises of the README and the man pages, tried as a user types them on the default engine
// (the spool), each one found broken once (issue 18) and kept here so it stays kept.
const T = {timeoutMs: 20_000}

describe('the depth bound', () => {
  it('counts messages in flight: two pushed and popped fill a queue of depth 2 (75), an ack makes room', async () => {
    const spool = tempSpool()
    expect((await mq(spool, ['config', 'd', '--max-depth', '2'], T)).code).toBe(0)
    for (const body of ['a', 'b']) expect((await mq(spool, ['push', 'd', body], T)).code).toBe(0)
    const receipts: string[] = []
    for (let i = 0; i < 2; i++) {
      const pop = await mq(spool, ['pop', 'd', '--json'], T)
      expect(pop.code, pop.stderr).toBe(0)
      receipts.push(JSON.parse(pop.out).receipt)
    }
    for (const body of ['c', 'd']) {
      const full = await mq(spool, ['push', 'd', body], T)
      expect(full.code).toBe(75)
      expect(full.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect((await mq(spool, ['ack', 'd', receipts[0]], T)).code).toBe(0)
    expect((await mq(spool, ['push', 'd', 'c'], T)).code).toBe(0)
    expect((await mq(spool, ['push', 'd', 'd'], T)).code).toBe(75)
  })
})

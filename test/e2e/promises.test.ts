import {readdirSync} from 'node:fs'
import {describe, expect, it} from 'vitest'

import {BIN, mq, run, tempSpool} from '../support/helpers.js'

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

describe('the command line as users type it', () => {
  it('global options go before the command as well as after, on both paths (the fast one and oclif)', async () => {
    const spool = tempSpool()
    for (const fast of [true, false]) {
      const env = fast ? {} : {MQ_NO_FAST: '1'}
      const other = tempSpool() // MQ_SPOOL: the options must win over it
      const push = await mq(other, ['--spool', spool, '--json', 'push', 'q', 'x'], {...T, env})
      expect(push.code, push.stderr).toBe(0)
      expect(JSON.parse(push.out)).toMatchObject({queue: 'q', state: 'ready'})
      const stats = await mq(other, [`--spool=${spool}`, '--json', 'stats', 'q'], {...T, env})
      expect(stats.code, stats.stderr).toBe(0)
      expect(JSON.parse(stats.out)).toMatchObject({queue: 'q'})
      const pop = await mq(other, ['--json', '--spool', spool, 'pop', 'q'], {...T, env})
      expect(JSON.parse(pop.out)).toMatchObject({body: 'x'})
      expect((await mq(other, ['--spool', spool, 'ack', 'q', JSON.parse(pop.out).receipt], {...T, env})).code).toBe(0)
    }
    // An option first with no command after it: one line, 64, naming it.
    for (const args of [['--url'], ['--json'], ['--spool', spool]]) {
      const r = await mq(spool, args, T)
      expect(r.code).toBe(64)
      expect(r.stderr).toMatch(new RegExp(`^mq: ${args[0]} must be followed by`))
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    }
    // An unknown option first is not taken for a global one.
    const r = await mq(spool, ['--bogus', 'stats'], T)
    expect(r.code).toBe(64)
    expect(r.stderr).toMatch(/^mq: unknown option --bogus before the command/)
  })

  it.each([
    ['push', 'q', 'x', '--delay'],
    ['push', 'q', 'x', '--ttl'],
    ['push', 'q', 'x', '--key'],
    ['push', 'q', 'x', '--spool'],
    ['pop', 'q', '--lease'],
    ['pop', 'q', '--wait'],
    ['consume', 'q', '--exec', 'true', '--timeout'],
    ['nack', 'q', '0000000000000000-0000000000000000', '--delay'],
    ['stats', '--url'],
  ])('an empty value (an unset variable) is a usage error naming the flag: mq %s … %s ""', async (...args) => {
    const spool = tempSpool()
    const r = await mq(spool, [...args, ''], T)
    expect(r.code).toBe(64)
    expect(r.stderr).toBe(`mq: ${args.at(-1)}: empty value (an unset variable?)\n`)
    expect(readdirSync(spool)).toEqual([]) // nothing written anywhere
  })

  it('pop with stdout closed or /dev/null claims nothing (74): the receipt would be lost', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', 'x'], T)
    for (const redirect of ['>&-', '>/dev/null']) {
      // (LD_PRELOAD emptied: under faketime, a year-ahead run of the suite, its shared memory
      // would take the closed descriptor 1 before node starts.)
      const r = await run('bash', ['-c', `"${process.execPath}" "${BIN}" pop q ${redirect}`], {env: {LD_PRELOAD: '', MQ_SPOOL: spool}, timeoutMs: 20_000})
      expect(r.code).toBe(74)
      expect(r.stderr).toMatch(/^mq: stdout is closed or \/dev\/null: the receipt would be lost \(nothing was claimed\)/)
    }
    expect(JSON.parse((await mq(spool, ['stats', 'q', '--json'], T)).out)).toMatchObject({inflight: 0, ready: 1})
    // The way to drop one: the body to /dev/null, the receipt to ack.
    const drop = await run('bash', ['-c', `"${process.execPath}" "${BIN}" pop q -o /dev/null | xargs "${process.execPath}" "${BIN}" ack q`], {env: {MQ_SPOOL: spool}, timeoutMs: 20_000})
    expect(drop.code, drop.stderr).toBe(0)
    expect(JSON.parse((await mq(spool, ['stats', 'q', '--json'], T)).out)).toMatchObject({done: 1, ready: 0})
  })

  it('a nack that dead-letters says so in one line (status 0), and in "state" under --json', async () => {
    const spool = tempSpool()
    await mq(spool, ['config', 'q', '--max-attempts', '1'], T)
    await mq(spool, ['push', 'q', 'a'], T)
    await mq(spool, ['push', 'q', 'b'], T)
    const first = JSON.parse((await mq(spool, ['pop', 'q', '--json'], T)).out)
    const nack = await mq(spool, ['nack', 'q', first.receipt], T)
    expect(nack.code).toBe(0)
    expect(nack.stderr).toMatch(new RegExp(`^mq: q: ${first.id}: that was its last allowed delivery .*dead-lettered`))
    expect(nack.stderr.trim().split('\n')).toHaveLength(1)
    const second = JSON.parse((await mq(spool, ['pop', 'q', '--json'], T)).out)
    const json = await mq(spool, ['nack', 'q', second.receipt, '--json'], T)
    expect(JSON.parse(json.out)).toMatchObject({id: second.id, state: 'dead'})
    expect(json.stderr).toBe('')
    // Every dead letter back, however many, through the pipeline of mq(1)'s EXAMPLES.
    const requeue = await run('bash', ['-c', `"${process.execPath}" "${BIN}" peek q --state dead --all --json | jq -r '.[].id' | xargs "${process.execPath}" "${BIN}" requeue q`], {env: {MQ_SPOOL: spool}, timeoutMs: 20_000})
    expect(requeue.code, requeue.stderr).toBe(0)
    expect(JSON.parse((await mq(spool, ['stats', 'q', '--json'], T)).out)).toMatchObject({dead: 0, ready: 2})
  })

  it('peek --all lists more than the default ten', async () => {
    const spool = tempSpool()
    await mq(spool, ['push', 'q', '--batch'], {...T, input: Array.from({length: 25}, (_, i) => `m${i}`).join('\n') + '\n'})
    expect(JSON.parse((await mq(spool, ['peek', 'q', '--json'], T)).out)).toHaveLength(10)
    expect(JSON.parse((await mq(spool, ['peek', 'q', '--all', '--json'], T)).out)).toHaveLength(25)
    expect((await mq(spool, ['peek', 'q', '--all', '-n', '3'], T)).code).toBe(64)
  })
})

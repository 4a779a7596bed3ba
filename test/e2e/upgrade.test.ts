import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {FIXTURES, mq, tempSpool} from '../support/helpers.js'

/**
 * test/fixtures/spool-v1.tar is a spool written by mq 0.1 (commit a980a27, spool format 1, no
 * marker): queue "jobs" with four ready messages, one delayed for 1000 days, two in flight
 * (one under a 100-year lease, one whose 30-second lease has long run out, priority 5), one
 * acked, one dead letter (it holds the key "nightly" for 100 years), config max-depth 100;
 * topic "events" with subscriber "audit" holding one message. Every time in it that must not
 * pass (the delay, the held lease, the key) is a century after the fixture was made, so the
 * test holds on any date a run can have (check: faketime -f '+400d'). Made with:
 *
 *   mq push jobs "ready one"; mq push jobs "ready two"; mq push jobs --priority 5 "urgent"
 *   mq push jobs --delay 36500d "far in the future"
 *   mq push jobs --key nightly --key-ttl 36500d "keyed"
 *   mq push jobs "will be held" (and "will expire", "will be done", "will die")
 *   mq config jobs --max-depth 100; mq subscribe events audit; mq push events '{"event":1}'
 *   mq pop jobs --lease 30s; mq pop jobs --lease 36500d; mq pop jobs --lease 1s; sleep 2
 *   mq consume jobs --max-messages 1 --exec true
 *   mq consume jobs --max-messages 1 --exec permfail.sh
 */
const HELD = '01a23b0cac280000-5a959575049f101a,a1,l4949887018753' // printed by mq 0.1's pop --lease 36500d
const T = {timeoutMs: 20_000}

function oldSpool(): string {
  const dir = tempSpool()
  const r = spawnSync('tar', ['-xf', join(FIXTURES, 'spool-v1.tar'), '-C', dir])
  expect(r.status).toBe(0)
  return join(dir, 'spool-v1')
}

const stats = async (spool: string, q: string) => JSON.parse((await mq(spool, ['stats', q, '--json'], T)).out)

describe('a spool written by mq 0.1 (format 1)', () => {
  it('is read as it is, and upgraded by the first change without losing a message', async () => {
    const spool = oldSpool()
    // Read-only: counted right, nothing written.
    expect(await stats(spool, 'jobs')).toMatchObject({dead: 1, delayed: 1, done: 1, inflight: 2, ready: 4})
    expect(await stats(spool, 'audit')).toMatchObject({ready: 1})
    expect(readdirSync(spool)).not.toContain('.mq-spool')

    // A receipt printed by mq 0.1 still acks its delivery, across the upgrade it triggers.
    const ack = await mq(spool, ['ack', 'jobs', HELD], T)
    expect(ack.code, ack.stderr).toBe(0)
    expect(readFileSync(join(spool, '.mq-spool'), 'utf8')).toBe('mq-spool 2\n')
    expect(readdirSync(join(spool, 'jobs', 'cur'), {withFileTypes: true}).filter((e) => e.isFile())).toEqual([]) // no flat claims left

    // Every message is there: the expired claim comes back first (priority 5), then FIFO.
    const bodies: string[] = []
    for (;;) {
      const r = await mq(spool, ['pop', 'jobs', '--json'], T)
      if (r.code === 3) break
      expect(r.code, r.stderr).toBe(0)
      const m = JSON.parse(r.out)
      bodies.push(`${m.body}#${m.attempt}`)
      expect((await mq(spool, ['ack', 'jobs', m.receipt], T)).code).toBe(0)
    }
    expect(bodies).toEqual(['urgent#2', 'will be held#1', 'will expire#1', 'will be done#1', 'will die#1'])
    expect(await stats(spool, 'jobs')).toMatchObject({dead: 1, delayed: 1, done: 7, inflight: 0, ready: 0})

    // Its key, its dead letter's reason, its config and its topic are honoured.
    const dup = await mq(spool, ['push', 'jobs', '--key', 'nightly', 'again'], T)
    expect(dup.code).toBe(4)
    expect(dup.out.trim()).toBe('01a23b0caf150000-2d5a9d4288444060')
    const dead = JSON.parse((await mq(spool, ['peek', 'jobs', '--state', 'dead', '--json'], T)).out)
    expect(dead).toMatchObject([{body: 'keyed', key: 'nightly', reason: {exitCode: 100, reason: 'rejected'}}])
    expect(JSON.parse((await mq(spool, ['config', 'jobs', '--json'], T)).out)).toMatchObject({maxDepth: 100})
    expect((await mq(spool, ['push', 'events', 'new'], T)).code).toBe(0)
    expect(await stats(spool, 'audit')).toMatchObject({ready: 2})
  })

  it('a spool of a later format is refused (78), untouched', async () => {
    const spool = oldSpool()
    const {writeFileSync} = await import('node:fs')
    writeFileSync(join(spool, '.mq-spool'), 'mq-spool 3\n')
    const r = await mq(spool, ['push', 'jobs', 'x'], T)
    expect(r.code).toBe(78)
    expect(r.stderr).toMatch(/a spool of format 3, made by a newer mq/)
  })
})

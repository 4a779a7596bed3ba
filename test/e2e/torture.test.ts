import {spawn} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {FIXTURES, mq, sleep, tempSpool, userEnv} from '../support/helpers.js'

const WORKER = join(FIXTURES, 'worker.mjs')

/** A worker process whose stdout lines are collected as they come (so a killed one still counts). */
function start(spool: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [WORKER, spool, ...args], {env: userEnv(env), stdio: ['ignore', 'pipe', 'inherit']})
  const lines: string[] = []
  let buf = ''
  child.stdout!.on('data', (c: Buffer) => {
    buf += c
    const parts = buf.split('\n')
    buf = parts.pop()!
    lines.push(...parts)
  })
  const done = new Promise<void>((r) => child.on('close', () => r()))
  return {child, done, lines}
}

describe('torture: producers and consumers killed with -9 at random moments', () => {
  it('every confirmed message is acked exactly once, and nothing is left stuck', async () => {
    const spool = tempSpool()
    const lease = {LEASE_MS: '700'}
    const producers = Array.from({length: 3}, () => start(spool, ['t', 'push-singles', '120']))
    let consumers = Array.from({length: 3}, () => start(spool, ['t', 'drain', '1500'], lease))
    const killed: Array<ReturnType<typeof start>> = []
    // Kill one producer and, repeatedly, a consumer, replacing each consumer killed.
    while (producers[0].lines.length < 10) await sleep(10) // mid-stream, not before it starts
    producers[0].child.kill('SIGKILL')
    for (let round = 0; round < 4; round++) {
      await sleep(250 + Math.floor(Math.random() * 250))
      const victim = consumers[Math.floor(Math.random() * consumers.length)]
      victim.child.kill('SIGKILL')
      killed.push(victim)
      consumers = [...consumers.filter((c) => c !== victim), start(spool, ['t', 'drain', '1500'], lease)]
    }
    await Promise.all(producers.map((p) => p.done))
    await Promise.all(consumers.map((c) => c.done))
    // Leases of the killed consumers expire; a last consumer drains what they held.
    const last = start(spool, ['t', 'drain', '2000'], lease)
    await last.done

    const confirmed = producers.flatMap((p) => p.lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3)))
    expect(confirmed.length).toBeGreaterThanOrEqual(250) // two producers finished, one was cut short
    expect(confirmed.length).toBeLessThan(360)
    const done = readdirSync(join(spool, 't', 'done')).map((n) => n.slice(0, 33))
    expect(new Set(done).size).toBe(done.length) // no message acked twice
    for (const id of confirmed) expect(done).toContain(id) // no confirmed message lost
    const stats = JSON.parse((await mq(spool, ['stats', 't', '--json'])).out)
    expect(stats).toMatchObject({bad: 0, dead: 0, delayed: 0, inflight: 0, ready: 0})
    expect(killed).toHaveLength(4)
  })
})

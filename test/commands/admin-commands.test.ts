import {describe, expect, it} from 'vitest'

import Config from '../../src/commands/config.js'
import Gc from '../../src/commands/gc.js'
import Pause from '../../src/commands/pause.js'
import Pop from '../../src/commands/pop.js'
import Purge from '../../src/commands/purge.js'
import Push from '../../src/commands/push.js'
import Queues from '../../src/commands/queues.js'
import Requeue from '../../src/commands/requeue.js'
import Resume from '../../src/commands/resume.js'
import Stats from '../../src/commands/stats.js'
import Subscribe from '../../src/commands/subscribe.js'
import Unsubscribe from '../../src/commands/unsubscribe.js'
import {EXIT} from '../../src/exit-codes.js'
import {tempSpool} from '../support/helpers.js'
import {runIn} from '../support/in-process.js'

describe('administration commands, in process', () => {
  it('config sets, shows and removes max-depth; a full queue refuses with 75', async () => {
    const spool = tempSpool()
    expect(JSON.parse((await runIn(Config, ['q', '--max-depth', '1', '--json', '--spool', spool])).stdout)).toEqual({leaseMs: 300_000, maxAttempts: 5, maxDepth: 1, queue: 'q'})
    expect((await runIn(Config, ['q', '--spool', spool])).stdout).toBe('max-depth 1\nmax-attempts 5\nlease 5m\n')
    expect((await runIn(Push, ['q', 'one', '--spool', spool])).exitCode).toBe(0)
    const full = await runIn(Push, ['q', 'two', '--spool', spool])
    expect(full.exitCode).toBe(EXIT.TEMP_FAIL)
    expect(full.stderr).toMatch(/queue full \(1 of max-depth 1\)/)
    await runIn(Config, ['q', '--no-max-depth', '--spool', spool])
    expect((await runIn(Push, ['q', 'two', '--spool', spool])).exitCode).toBe(0)
  })

  it('push --key prints the first id and exits 4 the second time', async () => {
    const spool = tempSpool()
    const first = await runIn(Push, ['q', 'a', '--key', 'k', '--spool', spool])
    const again = await runIn(Push, ['q', 'b', '--key', 'k', '--json', '--spool', spool])
    expect(again.exitCode).toBe(EXIT.DUPLICATE)
    expect(JSON.parse(again.stdout)).toEqual({duplicate: true, id: first.stdout.trim(), key: 'k', queue: 'q'})
    expect((await runIn(Push, ['q', '--batch', '--key', 'k', '--spool', spool])).exitCode).toBe(EXIT.USAGE)
  })

  it('headers and keys come back with the message', async () => {
    const spool = tempSpool()
    await runIn(Push, ['q', 'x', '-H', 'trace=abc', '-H', 'tenant=7', '--key', 'k1', '--spool', spool])
    const pop = JSON.parse((await runIn(Pop, ['q', '--json', '--spool', spool])).stdout)
    expect(pop).toMatchObject({body: 'x', headers: {tenant: '7', trace: 'abc'}, key: 'k1'})
    expect((await runIn(Push, ['q', 'x', '-H', 'no-equals', '--spool', spool])).exitCode).toBe(EXIT.USAGE)
  })

  it('pause makes pop exit 69; resume lets it work', async () => {
    const spool = tempSpool()
    await runIn(Push, ['q', 'x', '--spool', spool])
    await runIn(Pause, ['q', '--spool', spool])
    const paused = await runIn(Pop, ['q', '--spool', spool])
    expect(paused.exitCode).toBe(EXIT.UNAVAILABLE)
    expect(paused.stderr).toMatch(/queue is paused/)
    expect(JSON.parse((await runIn(Stats, ['q', '--json', '--spool', spool])).stdout).paused).toBe(true)
    await runIn(Resume, ['q', '--spool', spool])
    expect((await runIn(Pop, ['q', '--spool', spool])).exitCode).toBe(0)
  })

  it('purge refuses without --force off a terminal, and deletes with it', async () => {
    const spool = tempSpool()
    await runIn(Push, ['q', 'x', '--spool', spool])
    const refused = await runIn(Purge, ['q', '--spool', spool])
    expect(refused.exitCode).toBe(EXIT.USAGE)
    expect(refused.stderr).toMatch(/refusing without --force/)
    expect(JSON.parse((await runIn(Stats, ['q', '--json', '--spool', spool])).stdout).ready).toBe(1)
    const purged = await runIn(Purge, ['q', '--force', '--json', '--spool', spool])
    expect(JSON.parse(purged.stdout).purged.ready).toBe(1)
  })

  it('subscribe fans a push out; unsubscribe of a stranger exits 66', async () => {
    const spool = tempSpool()
    await runIn(Subscribe, ['orders', 'billing', '--spool', spool])
    await runIn(Subscribe, ['orders', 'audit', '--spool', spool])
    const id = (await runIn(Push, ['orders', 'o-1', '--spool', spool])).stdout.trim()
    for (const q of ['billing', 'audit']) expect(JSON.parse((await runIn(Pop, [q, '--json', '--spool', spool])).stdout).id).toBe(id)
    expect((await runIn(Unsubscribe, ['orders', 'nobody', '--spool', spool])).exitCode).toBe(EXIT.NO_INPUT)
    const queues = JSON.parse((await runIn(Queues, ['--json', '--spool', spool])).stdout)
    expect(queues).toEqual([
      {inflight: 1, kind: 'queue', paused: false, queue: 'audit', ready: 0},
      {inflight: 1, kind: 'queue', paused: false, queue: 'billing', ready: 0},
      {kind: 'topic', subscribers: ['audit', 'billing'], topic: 'orders'},
    ])
  })

  it('requeue and gc report what they did', async () => {
    const spool = tempSpool()
    expect((await runIn(Requeue, ['q', '--json', '--spool', spool])).exitCode).toBe(EXIT.NO_INPUT) // no such queue
    await runIn(Push, ['q', 'x', '--spool', spool])
    expect(JSON.parse((await runIn(Requeue, ['q', '--json', '--spool', spool])).stdout)).toEqual({expiryCleared: [], notDead: [], queue: 'q', requeued: []})
    expect((await runIn(Gc, ['q', '--spool', spool])).exitCode).toBe(EXIT.USAGE) // deletes: needs --force off a TTY
    const gc = JSON.parse((await runIn(Gc, ['q', '--force', '--json', '--spool', spool])).stdout)
    expect(gc).toEqual({queue: 'q', removed: {done: 0, keys: 0, tmp: 0}})
  })

  it('stats --prometheus prints gauges per queue and state', async () => {
    const spool = tempSpool()
    await runIn(Push, ['jobs', 'x', '--spool', spool])
    const text = (await runIn(Stats, ['--prometheus', '--spool', spool])).stdout
    expect(text).toContain('# TYPE mq_messages gauge\n')
    expect(text).toContain('mq_messages{queue="jobs",state="ready"} 1\n')
    expect(text).toMatch(/mq_oldest_ready_age_seconds\{queue="jobs"\} \d/)
    expect(text).toContain('mq_paused{queue="jobs"} 0\n')
  })
})
